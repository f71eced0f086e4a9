import type { Logger } from "pino";
import type { KubeClient } from "../../lib/kube/client.ts";
import { type Department, roleGroupsOf } from "../api/department.ts";
import { fieldManager } from "../api/group.ts";
import { staticImpersonableGroups } from "../api/platform.ts";
import { portalApiImpersonationRole } from "../api/rbac.ts";

/** Every group the portal API may act as: the platform's own and each department's. */
export function impersonableGroups(departments: Pick<Department, "spec">[]): string[] {
  const groups = new Set(staticImpersonableGroups);
  for (const dept of departments) for (const group of roleGroupsOf(dept.spec.groups)) groups.add(group);
  return [...groups].sort();
}

/**
 * Keeps the portal API's impersonation ClusterRole in step with the Departments: changes are coalesced
 * (one write per burst of Department events) and a failed write is retried.
 */
export class ImpersonationSync {
  private timer: NodeJS.Timeout | undefined;
  private last = "";
  private readonly client: KubeClient;
  private readonly log: Logger;
  private readonly departments: () => Pick<Department, "spec">[];

  constructor(client: KubeClient, log: Logger, departments: () => Pick<Department, "spec">[]) {
    this.client = client;
    this.log = log;
    this.departments = departments;
  }

  schedule(delayMs = 300): void {
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.sync();
    }, delayMs);
    this.timer.unref();
  }

  private async sync(): Promise<void> {
    const groups = impersonableGroups(this.departments());
    const key = groups.join(",");
    if (key === this.last) return;
    try {
      await this.client.apply(portalApiImpersonationRole(groups), { fieldManager });
      this.last = key;
    } catch (error) {
      this.log.warn({ err: error }, "could not update the portal API's impersonation role; retrying");
      this.schedule(5_000);
    }
  }

  stop(): void {
    clearTimeout(this.timer);
  }
}
