import type { Department } from "../controller/api/department.ts";
import type { EService } from "../controller/api/eservice.ts";
import { controllerIdentity } from "../controller/api/rbac.ts";
import type { KubeClient, KubeObject } from "../lib/kube/client.ts";
import { resources } from "../lib/kube/resources.ts";
import {
  type PublicFigure,
  type PublicFigures,
  publicFiguresName,
  readPublicFigures,
} from "../lib/performance/public-figures.ts";

// The citizen-facing directory of e-services: public e-services that are exposed now, with what a citizen
// is told about each (department, service cluster, address, accessibility standard and last scan, this
// month's availability and satisfaction). The
// public JSON catalogue (/api/v1/service-clusters) and the public pages (pages/) both read it.

export interface LocalisedName {
  en: string;
  zhHant: string;
}

export interface DirectoryEntry {
  namespace: string;
  name: string;
  /** From the namespace (`<department>-<environment>`), never from labels the department sets itself. */
  department: string;
  departmentName: LocalisedName;
  displayName: LocalisedName;
  cluster: string;
  url: string;
  standard: string;
  /** When the accessibility scan that let it be exposed ran. */
  scannedAt?: string;
  /** Its availability (the platform's probe) and satisfaction (citizens' ratings) in a month; absent before either. */
  figures?: PublicFigure;
}

export interface Directory {
  /** By service cluster (sorted by name), each cluster's e-services sorted by name. */
  clusters: { cluster: string; services: DirectoryEntry[] }[];
}

type EServiceObject = EService & KubeObject;
type DepartmentObject = Department & KubeObject;

/** Environment names have no hyphen, so the department is the namespace up to its last hyphen. */
const departmentOf = (namespace: string) => namespace.replace(/-[^-]+$/, "");

/** The published e-service `name` in `namespace`, if there is one. */
export function publishedEntry(
  directory: Directory,
  namespace: string,
  name: string,
): DirectoryEntry | undefined {
  for (const cluster of directory.clusters)
    for (const entry of cluster.services)
      if (entry.namespace === namespace && entry.name === name) return entry;
  return undefined;
}

export function buildDirectory(
  eservices: EServiceObject[],
  departments: DepartmentObject[],
  figures: PublicFigures = {},
): Directory {
  const names = new Map(departments.map((d) => [d.metadata.name ?? "", d.spec.displayName]));
  const clusters = new Map<string, DirectoryEntry[]>();
  for (const es of eservices) {
    const exposed = es.status?.conditions?.some((c) => c.type === "Exposed" && c.status === "True");
    if (!exposed || !es.status?.url || es.spec.exposure !== "public") continue;
    const namespace = es.metadata.namespace ?? "";
    const name = es.metadata.name ?? "";
    const department = departmentOf(namespace);
    const cluster = es.spec.serviceCluster ?? "other";
    clusters.set(cluster, [
      ...(clusters.get(cluster) ?? []),
      {
        namespace,
        name,
        department,
        departmentName: names.get(department) ?? { en: department, zhHant: department },
        displayName: es.spec.displayName ?? { en: name, zhHant: name },
        cluster,
        url: es.status.url,
        standard: es.spec.accessibility?.standard ?? es.status.accessibility?.standard ?? "",
        ...(es.status.accessibility?.scannedAt ? { scannedAt: es.status.accessibility.scannedAt } : {}),
        ...(figures[`${namespace}/${name}`] ? { figures: figures[`${namespace}/${name}`] } : {}),
      },
    ]);
  }
  return {
    clusters: [...clusters.entries()]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([cluster, services]) => ({
        cluster,
        services: services.sort(
          (a, b) => a.name.localeCompare(b.name) || a.namespace.localeCompare(b.namespace),
        ),
      })),
  };
}

/**
 * The directory, served from a cache of `cacheMs` (concurrent misses share one pair of list calls): public
 * traffic costs the API server at most one list of EServices and Departments per interval, however much of
 * it comes.
 */
export class EServiceDirectory {
  private cached: { at: number; value: Directory } | undefined;
  private loading: Promise<Directory> | undefined;
  private readonly kube: KubeClient;
  readonly cacheMs: number;

  constructor(kube: KubeClient, cacheMs: number) {
    this.kube = kube;
    this.cacheMs = cacheMs;
  }

  current(): Promise<Directory> {
    if (this.cached && Date.now() - this.cached.at < this.cacheMs) return Promise.resolve(this.cached.value);
    this.loading ??= this.load()
      .then((value) => {
        this.cached = { at: Date.now(), value };
        return value;
      })
      .finally(() => {
        this.loading = undefined;
      });
    return this.loading;
  }

  private async load(): Promise<Directory> {
    const [eservices, departments, figures] = await Promise.all([
      this.kube.list<EServiceObject>(resources.eservice),
      this.kube.list<DepartmentObject>(resources.department),
      this.publicFigures(),
    ]);
    return buildDirectory(eservices.items, departments.items, figures);
  }

  /** The controller's public figures; none (the catalogue without them) when they cannot be read. */
  private async publicFigures(): Promise<PublicFigures> {
    try {
      const stored = await this.kube.find<KubeObject & { data?: Record<string, string> }>(
        resources.configMap,
        publicFiguresName,
        controllerIdentity.namespace,
      );
      const figures = readPublicFigures(stored?.data);
      return figures instanceof Error ? {} : figures;
    } catch {
      return {};
    }
  }
}
