import type { AvailabilityMonths, LastProbe } from "../../lib/performance/availability-store.ts";
import { eserviceKey } from "./traffic-counting.ts";

// The availability probe's decisions, as pure functions: which e-services are probed, through which
// ingress controller pod, what counts as up, and how a round's results join the stored months.

export interface ProbedEService {
  department: string;
  namespace: string;
  name: string;
  /** Its public host name (from status.url); only public e-services are probed. */
  host: string;
  /** When it last became public (the Exposed condition's lastTransitionTime), in ms since the epoch. */
  publicSince: number | undefined;
}

export interface ProbeOutcome {
  eservice: ProbedEService;
  probe: LastProbe;
}

/**
 * Probed once public for the grace period: the ingress controller needs a moment to pick a new route up,
 * and a probe before it would count a launch as an outage.
 */
export function dueForProbe(eservice: ProbedEService, now: number, graceMs: number): boolean {
  return eservice.publicSince === undefined || now - eservice.publicSince >= graceMs;
}

/** Up: answered 2xx or 3xx, as a citizen's browser would show a page. Anything else is down. */
export function isUp(status: number): boolean {
  return status >= 200 && status < 400;
}

interface PodView {
  metadata?: { name?: string; deletionTimestamp?: string };
  spec?: { containers?: { ports?: { name?: string; containerPort?: number }[] }[] };
  status?: { podIP?: string; conditions?: { type: string; status: string }[] };
}

/**
 * The ingress controller pods that serve citizens now (Ready, not terminating) and the port of their
 * entry point named `portName`, in a stable order; the prober takes them in turn, round by round.
 */
export function probeEntrances(
  pods: readonly PodView[],
  portName: string,
): { address: string; port: number }[] {
  const entrances: { name: string; address: string; port: number }[] = [];
  for (const pod of pods) {
    const ready = pod.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True");
    const port = pod.spec?.containers
      ?.flatMap((c) => c.ports ?? [])
      .find((p) => p.name === portName)?.containerPort;
    const address = pod.status?.podIP;
    if (ready && !pod.metadata?.deletionTimestamp && address && port)
      entrances.push({ name: pod.metadata?.name ?? "", address, port });
  }
  entrances.sort((a, b) => a.name.localeCompare(b.name));
  return entrances.map(({ address, port }) => ({ address, port }));
}

/** The stored months with one round's outcomes added to `month` (a copy; the input is not changed). */
export function recordProbes(
  months: AvailabilityMonths,
  outcomes: readonly ProbeOutcome[],
  month: string,
): AvailabilityMonths {
  const current = { ...months[month] };
  for (const { eservice, probe } of outcomes) {
    const key = eserviceKey(eservice);
    const counts = current[key] ?? { up: 0, down: 0, last: probe };
    current[key] = {
      up: counts.up + (probe.up ? 1 : 0),
      down: counts.down + (probe.up ? 0 : 1),
      last: probe,
    };
  }
  return { ...months, [month]: current };
}
