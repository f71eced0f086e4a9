import {
  type DepartmentTraffic,
  emptyCounts,
  type TrafficBaselines,
  type TrafficCounts,
  type TrafficMonths,
} from "../../lib/performance/traffic-store.ts";
import type { CompletedTransaction } from "../api/eservice.ts";
import { completedTransactionPort, servicePort } from "../eservice/desired.ts";
import type { Sample } from "./prometheus-text.ts";

// Turning the ingress controller's counters into exact monthly counts per e-service, as pure functions.
// Traefik counts requests per backend service (`<namespace>-<service>-<port>@kubernetes`); an e-service's
// completed-transaction route goes through its Service's second port, so it is a series of its own.

export const trafficFamilies = {
  requests: "traefik_service_requests_total",
  latency: "traefik_service_request_duration_seconds_bucket",
  processStart: "process_start_time_seconds",
} as const;
export const trafficFamilyNames: ReadonlySet<string> = new Set(Object.values(trafficFamilies));

export interface MeasuredEService {
  department: string;
  namespace: string;
  name: string;
  completion?: CompletedTransaction;
}

interface Route {
  eservice: MeasuredEService;
  completedRoute: boolean;
}

export const eserviceKey = (e: { namespace: string; name: string }): string => `${e.namespace}/${e.name}`;

/** The Prometheus labels of a stored e-service key (`<department>-<environment>/<name>`). */
export function eserviceLabels(
  department: string,
  key: string,
): { department: string; environment: string; eservice: string } {
  const [namespace = "", eservice = ""] = key.split("/");
  return { department, environment: namespace.slice(department.length + 1), eservice };
}

/**
 * The ingress controller's service label of each e-service port. Traefik joins namespace, Service and port
 * with dashes, so two e-services can share a label (`a-b` + `c` and `a` + `b-c`); such a label is counted
 * for neither, and reported.
 */
export function routesByServiceLabel(eservices: readonly MeasuredEService[]): {
  routes: Map<string, Route>;
  ambiguous: string[];
} {
  const routes = new Map<string, Route>();
  const ambiguous = new Set<string>();
  for (const eservice of eservices) {
    for (const [port, completedRoute] of [
      [servicePort, false],
      [completedTransactionPort, true],
    ] as const) {
      const label = `${eservice.namespace}-${eservice.name}-${port}@kubernetes`;
      if (routes.has(label) || ambiguous.has(label)) {
        routes.delete(label);
        ambiguous.add(label);
      } else routes.set(label, { eservice, completedRoute });
    }
  }
  return { routes, ambiguous: [...ambiguous].sort() };
}

/** One counter series of one e-service, as read from one ingress controller instance. */
export interface AttributedSeries {
  /** The series' identity in the instance (family and labels), the key of its baseline. */
  key: string;
  eservice: MeasuredEService;
  value: number;
  /** How a delta of this series is added to the e-service's counts. */
  add: (counts: TrafficCounts, delta: number) => void;
}

/** The samples of one instance that belong to an e-service, grouped by department. */
export function attribute(
  samples: readonly Sample[],
  routes: Map<string, Route>,
): Map<string, AttributedSeries[]> {
  const byDepartment = new Map<string, AttributedSeries[]>();
  for (const sample of samples) {
    const route = routes.get(sample.labels.service ?? "");
    if (!route || !Number.isSafeInteger(sample.value) || sample.value < 0) continue;
    const add = adder(sample, route);
    if (!add) continue;
    const series: AttributedSeries = {
      key: seriesKey(sample),
      eservice: route.eservice,
      value: sample.value,
      add,
    };
    const department = route.eservice.department;
    const list = byDepartment.get(department);
    if (list) list.push(series);
    else byDepartment.set(department, [series]);
  }
  return byDepartment;
}

function adder(sample: Sample, route: Route): AttributedSeries["add"] | undefined {
  if (sample.name === trafficFamilies.latency) {
    const le = sample.labels.le;
    if (le === undefined) return undefined;
    return (counts, delta) => {
      counts.latency[le] = (counts.latency[le] ?? 0) + delta;
    };
  }
  if (sample.name !== trafficFamilies.requests) return undefined;
  const code = sample.labels.code ?? "";
  const method = sample.labels.method ?? "";
  const completion = route.completedRoute ? route.eservice.completion : undefined;
  const started = completion?.methods.includes(method as CompletedTransaction["methods"][number]) ?? false;
  const completed =
    started &&
    (completion?.statusClasses ?? []).includes(
      `${code[0]}xx` as CompletedTransaction["statusClasses"][number],
    );
  const serverError = code.startsWith("5");
  return (counts, delta) => {
    counts.requests += delta;
    if (serverError) counts.serverErrors += delta;
    if (started) counts.started += delta;
    if (completed) counts.completed += delta;
  };
}

const seriesKey = (sample: Sample): string =>
  [
    sample.name,
    ...Object.keys(sample.labels)
      .sort()
      .map((label) => `${label}=${sample.labels[label]}`),
  ].join("|");

/** What one ingress controller instance showed of one department. */
export interface InstanceReading {
  /** The pod's uid. */
  pod: string;
  /** `<pod uid>@<process start>`: a restarted process is a new instance whose counters start at zero. */
  instance: string;
  series: AttributedSeries[];
}

export const instanceId = (podUid: string, processStart: number): string => `${podUid}@${processStart}`;
const podOf = (instance: string): string => instance.slice(0, instance.lastIndexOf("@"));

/**
 * A department's traffic after one round of reading: each series adds what it counted since the value kept
 * for it (all of it when there is none, or when it went down: Traefik drops the series of a route it no
 * longer serves and starts it again at zero). The values read become the kept ones, in the same object.
 * Instances of pods that are gone, and earlier processes of a pod read now, are forgotten.
 */
export function countRound(
  stored: DepartmentTraffic,
  readings: readonly InstanceReading[],
  livePods: ReadonlySet<string>,
  month: string,
): { traffic: DepartmentTraffic; changed: boolean } {
  const baselines: TrafficBaselines = {};
  let changed = false;
  const readPods = new Set(readings.map((r) => r.pod));
  const readInstances = new Set(readings.map((r) => r.instance));
  for (const [instance, values] of Object.entries(stored.baselines)) {
    if (readInstances.has(instance)) continue;
    const pod = podOf(instance);
    // Pods not read this round keep their values (a failed read loses nothing).
    if (livePods.has(pod) && !readPods.has(pod)) baselines[instance] = values;
    else changed = true;
  }
  // Only this month can change: earlier ones are shared with the stored object, not copied every round.
  const months = { ...stored.months };
  const current = stored.months[month];
  if (current) months[month] = structuredClone(current);
  let counted = false;
  for (const reading of readings) {
    const before = stored.baselines[reading.instance] ?? {};
    const after: Record<string, number> = {};
    for (const series of reading.series) {
      const kept = before[series.key];
      const delta = kept === undefined || series.value < kept ? series.value : series.value - kept;
      after[series.key] = series.value;
      if (delta === 0) continue;
      series.add(countsOf(months, month, eserviceKey(series.eservice)), delta);
      counted = true;
    }
    if (Object.keys(after).length > 0) baselines[reading.instance] = after;
    if (stored.baselines[reading.instance] !== undefined) changed ||= !sameKeys(before, after);
    else changed ||= Object.keys(after).length > 0;
  }
  return { traffic: { months, baselines }, changed: changed || counted };
}

function countsOf(months: TrafficMonths, month: string, eservice: string): TrafficCounts {
  const ofMonth = months[month] ?? {};
  months[month] = ofMonth;
  const counts = ofMonth[eservice] ?? emptyCounts();
  ofMonth[eservice] = counts;
  return counts;
}

function sameKeys(a: Record<string, number>, b: Record<string, number>): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((key) => key in b);
}
