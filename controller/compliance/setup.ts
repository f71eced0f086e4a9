import type { KubeObject } from "../../lib/kube/client.ts";
import { resources } from "../../lib/kube/resources.ts";
import type { Manager } from "../runtime/manager.ts";
import { podsInformer } from "../runtime/pods-cache.ts";
import { departmentsInformer, tenantNamespaces } from "../tenancy/setup.ts";
import { ComplianceScanner } from "./scanner.ts";

/**
 * Compliance: every `intervalMs` the baseline is evaluated against what exists (objects admitted before a
 * rule or in Audit mode), into each namespace's PolicyReport and the Department's PolicyCompliant.
 */
export function setupCompliance(manager: Manager, intervalMs: number): void {
  const departments = departmentsInformer(manager);
  const namespaces = tenantNamespaces(manager);
  const pods = podsInformer(manager);
  const ingresses = manager.informer<KubeObject>(resources.ingress, { phase: 1 });
  const scanner = new ComplianceScanner(
    manager.client,
    manager.log.child({ component: "compliance" }),
    manager.metrics.registry,
    {
      departments: () => departments.list(),
      namespaces: () => namespaces.list(),
      objects: { Pod: () => pods.list(), Ingress: () => ingresses.list() },
    },
    manager.status,
  );
  manager.runnable((signal) => void scanner.run(signal, intervalMs));
}
