import { type ChargebackStatement, statementLabels } from "../controller/api/chargeback.ts";
import type { Department } from "../controller/api/department.ts";
import type { EService } from "../controller/api/eservice.ts";
import { labels } from "../controller/api/group.ts";
import type { KubeClient, KubeObject } from "../lib/kube/client.ts";
import { Informer } from "../lib/kube/informer.ts";
import { resources } from "../lib/kube/resources.ts";

// The objects the busiest read routes need (departments, their environments' namespaces, e-services, the
// statements that still change), read either from watch caches (a running API: no API-server round trip
// per read) or straight from the API server (the unit tests' stand-in client). Authorization is the
// routes' own either way: the API's service account reads these cluster-wide, and a route shows a caller
// only what their roles allow.

export type DepartmentObject = Department & KubeObject;
export type EServiceObject = EService & KubeObject;
export type StatementObject = ChargebackStatement & KubeObject;

export interface Reads {
  departments(): Promise<DepartmentObject[]>;
  department(name: string): Promise<DepartmentObject | undefined>;
  /** A namespace the platform labelled for a department (others are not read through here). */
  departmentNamespace(name: string): Promise<KubeObject | undefined>;
  eservices(namespace: string): Promise<EServiceObject[]>;
  /**
   * What `render` (synchronous, a function of the items alone) makes of a namespace's e-services. Cached
   * reads keep the result until one of those e-services changes, so a busy listing is neither rebuilt nor
   * serialized per request; one result is kept per namespace, for the last `render` asked.
   */
  renderedEServices<T>(namespace: string, render: (items: EServiceObject[]) => T): Promise<T>;
  eservice(namespace: string, name: string): Promise<EServiceObject | undefined>;
  /** A ChargebackStatement by name (`<department>-<yyyy-mm>`). */
  statement(name: string): Promise<StatementObject | undefined>;
  /**
   * After a write through this API: resolves once reads show the written object (or anything newer), so a
   * caller who wrote and then reads sees their write. Bounded: a lagging watch never fails the write.
   */
  written(object: KubeObject | undefined): Promise<void>;
  /** After a delete through this API: resolves once reads show the object gone or being deleted. */
  deleted(kind: "EService" | "Department", name: string, namespace?: string): Promise<void>;
}

/** Every read is a round trip to the API server. */
export function directReads(kube: KubeClient): Reads {
  return {
    departments: async () => (await kube.list<DepartmentObject>(resources.department)).items,
    department: (name) => kube.find<DepartmentObject>(resources.department, name),
    departmentNamespace: async (name) => {
      const ns = await kube.find<KubeObject>(resources.namespace, name);
      return ns?.metadata?.labels?.[labels.department] !== undefined ? ns : undefined;
    },
    eservices: async (namespace) =>
      (await kube.list<EServiceObject>(resources.eservice, { namespace })).items,
    renderedEServices: async (namespace, render) =>
      render((await kube.list<EServiceObject>(resources.eservice, { namespace })).items),
    eservice: (namespace, name) => kube.find<EServiceObject>(resources.eservice, name, namespace),
    statement: (name) => kube.find<StatementObject>(resources.chargebackStatement, name),
    written: async () => {},
    deleted: async () => {},
  };
}

/** How long a write waits for the caches to show it before answering anyway. */
const writtenWaitMs = 2_000;

/** What a write waits on: the cache of its kind. */
type WrittenTo = Pick<Informer<KubeObject>, "reached" | "until" | "get">;

export interface CachedReads extends Reads {
  /** Resolves once every cache has listed. */
  synced: Promise<void>;
}

/** Reads from watch caches kept by the API process; `departments` is the role mapping's own cache. */
export function cachedReads(
  kube: KubeClient,
  departments: Informer<DepartmentObject>,
  signal: AbortSignal,
  onError: (error: unknown) => void,
): CachedReads {
  const namespaces = new Informer<KubeObject>(kube, resources.namespace, undefined, {
    labelSelector: labels.department,
    onError,
  });
  // E-services by namespace, so a listing reads one environment's, not every department's.
  const byNamespace = new Map<string, Map<string, EServiceObject>>();
  // A namespace's rendered listing, dropped whenever one of its e-services changes: it never holds more
  // than the cached e-services themselves, serialized.
  const rendered = new Map<string, { render: (items: EServiceObject[]) => unknown; value: unknown }>();
  const eservices = new Informer<EServiceObject>(
    kube,
    resources.eservice,
    (event, es) => {
      const namespace = es.metadata.namespace ?? "";
      const name = es.metadata.name ?? "";
      rendered.delete(namespace);
      const inNamespace = byNamespace.get(namespace) ?? new Map<string, EServiceObject>();
      if (event === "delete") inNamespace.delete(name);
      else inNamespace.set(name, es);
      if (inNamespace.size === 0) byNamespace.delete(namespace);
      else byNamespace.set(namespace, inNamespace);
    },
    { onError },
  );
  // Statements not yet finalized: the current and last month's, rewritten as pods come and go and read by
  // departments checking their spend. A finalized statement never changes and is read far less; it is
  // read from the API server, so the cache does not grow by every department's every month.
  const openStatements = new Informer<StatementObject>(kube, resources.chargebackStatement, undefined, {
    labelSelector: `${statementLabels.finalized}!=true`,
    onError,
  });
  void namespaces.run(signal);
  void eservices.run(signal);
  void openStatements.run(signal);
  const informerOf = (object: Pick<KubeObject, "kind">): WrittenTo | undefined =>
    object.kind === "EService" ? eservices : object.kind === "Department" ? departments : undefined;
  return {
    synced: Promise.all([departments.synced, namespaces.synced, eservices.synced]).then(() => {}),
    departments: async () => departments.list(),
    department: async (name) => departments.get(name),
    departmentNamespace: async (name) => namespaces.get(name),
    eservices: async (namespace) => [...(byNamespace.get(namespace)?.values() ?? [])],
    renderedEServices: async <T>(namespace: string, render: (items: EServiceObject[]) => T) => {
      const kept = rendered.get(namespace);
      if (kept?.render === render) return kept.value as T;
      const value = render([...(byNamespace.get(namespace)?.values() ?? [])]);
      rendered.set(namespace, { render, value });
      return value;
    },
    eservice: async (namespace, name) => byNamespace.get(namespace)?.get(name),
    statement: async (name) =>
      openStatements.get(name) ?? kube.find<StatementObject>(resources.chargebackStatement, name),
    written: async (object) => {
      const version = object?.metadata?.resourceVersion;
      const informer = object ? informerOf(object) : undefined;
      if (informer && version) await informer.reached(version, writtenWaitMs);
    },
    deleted: async (kind, name, namespace) => {
      const informer = informerOf({ kind });
      const key = namespace ? `${namespace}/${name}` : name;
      await informer?.until(() => {
        const cached = informer.get(key);
        return cached === undefined || cached.metadata?.deletionTimestamp !== undefined;
      }, writtenWaitMs);
    },
  };
}
