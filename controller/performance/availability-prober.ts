import { request } from "node:https";
import type { Logger } from "pino";
import { Counter, type Registry } from "prom-client";
import { periodOf } from "../../lib/chargeback/calendar.ts";
import type { KubeClient, KubeObject } from "../../lib/kube/client.ts";
import { resources } from "../../lib/kube/resources.ts";
import {
  type AvailabilityMonths,
  availabilityStoreData,
  availabilityStoreName,
  type LastProbe,
  readAvailabilityStore,
} from "../../lib/performance/availability-store.ts";
import { controllerIdentity } from "../api/rbac.ts";
import {
  dueForProbe,
  isUp,
  type ProbedEService,
  type ProbeOutcome,
  probeEntrances,
  recordProbes,
} from "./availability-probing.ts";
import { PublicFiguresWriter, publicFiguresOf, readAllRatings } from "./public-figures.ts";
import { writeStore } from "./store-object.ts";
import { eserviceLabels } from "./traffic-counting.ts";

// The platform's synthetic probe: every interval, the leader asks each public e-service for its home page
// as a citizen would, over HTTPS through an ingress controller pod (its host name as SNI and Host), and
// adds up and down per month to its department's availability store. It measures whether the e-service
// answers through the platform, not its certificate (verified by browsers, issued by the platform).

export interface AvailabilityProberSettings {
  ingressNamespace: string;
  ingressSelector: string;
  /** Name of the ingress controller pods' HTTPS entry point port. */
  portName: string;
  timeoutMs: number;
  graceMs: number;
  timeZone: string;
  /** How many e-services are probed at once. */
  concurrency: number;
}

export interface AvailabilityProberDeps {
  client: KubeClient;
  log: Logger;
  registry: Registry;
  eservices: () => ProbedEService[];
  now?: () => number;
}

export class AvailabilityProber {
  /** Each department's store as last written or read: no read before a write. */
  private readonly stores = new Map<string, { object: KubeObject; months: AvailabilityMonths }>();
  private readonly rounds: Counter;
  private round = 0;
  private readonly publicFigures: PublicFiguresWriter;
  private readonly settings: AvailabilityProberSettings;
  private readonly deps: AvailabilityProberDeps;

  constructor(settings: AvailabilityProberSettings, deps: AvailabilityProberDeps) {
    this.settings = settings;
    this.deps = deps;
    this.rounds = new Counter({
      name: "govhost_availability_rounds_total",
      help: "Rounds of probing every public e-service, by outcome",
      labelNames: ["outcome"],
      registers: [deps.registry],
    });
    registerProbeMetrics(deps.registry, () => this.stores);
    this.publicFigures = new PublicFiguresWriter(deps.client);
  }

  async probeOnce(): Promise<void> {
    const now = (this.deps.now ?? Date.now)();
    const month = periodOf(now, this.settings.timeZone);
    const public_ = this.deps.eservices();
    await this.probeRound(public_, now, month);
    await this.publish(public_, month);
  }

  private async probeRound(public_: ProbedEService[], now: number, month: string): Promise<void> {
    const due = public_.filter((e) => dueForProbe(e, now, this.settings.graceMs));
    if (due.length === 0) {
      this.rounds.inc({ outcome: "nothing-public" });
      return;
    }
    const pods = await this.deps.client.list<KubeObject>(resources.pod, {
      namespace: this.settings.ingressNamespace,
      labelSelector: this.settings.ingressSelector,
    });
    const entrances = probeEntrances(pods.items, this.settings.portName);
    const entrance = entrances[this.round++ % Math.max(1, entrances.length)];
    const at = new Date(now).toISOString();
    const outcomes = await inBatches(due, this.settings.concurrency, async (eservice) => ({
      eservice,
      probe: entrance
        ? await probeHomePage(entrance, eservice.host, this.settings.timeoutMs, at)
        : { at, up: false, result: "no ingress controller pod is ready" },
    }));
    const byDepartment = new Map<string, ProbeOutcome[]>();
    for (const outcome of outcomes) {
      const results = byDepartment.get(outcome.eservice.department) ?? [];
      results.push(outcome);
      byDepartment.set(outcome.eservice.department, results);
    }
    let failed = 0;
    for (const [department, results] of byDepartment) {
      try {
        await this.store(department, results, month);
      } catch (error) {
        failed++;
        this.stores.delete(department);
        this.deps.log.warn(
          { err: error, department },
          "could not store the probes; this round is not counted",
        );
      }
    }
    this.rounds.inc({ outcome: failed === 0 ? "stored" : "partly-stored" });
  }

  /** The public catalogue's figures of every public e-service, from the stores as written this round. */
  private async publish(public_: ProbedEService[], month: string): Promise<void> {
    const ratings = await readAllRatings(this.deps.client, this.deps.log);
    const months = (department: string) => this.stores.get(department)?.months;
    await this.publicFigures.write(
      publicFiguresOf(public_, month, months, ratings, this.publicFigures.current),
    );
  }

  private async store(department: string, outcomes: ProbeOutcome[], month: string): Promise<void> {
    const { client } = this.deps;
    const name = availabilityStoreName(department);
    const namespace = controllerIdentity.namespace;
    const cached = this.stores.get(department);
    const current = cached?.object ?? (await client.find<KubeObject>(resources.configMap, name, namespace));
    const stored =
      cached?.months ??
      readAvailabilityStore((current as { data?: Record<string, string> } | undefined)?.data);
    if (stored instanceof Error) throw new Error(`${name}: ${stored.message}; left as it is`);
    const months = recordProbes(stored, outcomes, month);
    const written = await writeStore(client, current, name, availabilityStoreData(months), department);
    this.stores.set(department, { object: written, months });
  }
}

/** One GET of the e-service's home page through the ingress controller at `entrance`. */
export function probeHomePage(
  entrance: { address: string; port: number },
  host: string,
  timeoutMs: number,
  at: string,
): Promise<LastProbe> {
  return new Promise((resolve) => {
    const done = (up: boolean, result: string) => resolve({ at, up, result: result.slice(0, 200) });
    const req = request(
      {
        host: entrance.address,
        port: entrance.port,
        path: "/",
        method: "GET",
        servername: host,
        headers: { host, "user-agent": "govhost-availability-probe" },
        // See the header comment: the certificate is not what this measures.
        rejectUnauthorized: false,
        agent: false,
        timeout: timeoutMs,
      },
      (response) => {
        const status = response.statusCode ?? 0;
        response.resume();
        response.on("end", () => done(isUp(status), `HTTP ${status}`));
        response.on("error", (error) => done(false, `the answer broke off: ${error.message}`));
      },
    );
    req.on("timeout", () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on("error", (error) => done(false, error.message));
    req.end();
  });
}

async function inBatches<T, R>(
  items: readonly T[],
  size: number,
  work: (item: T) => Promise<R>,
): Promise<R[]> {
  const results: R[] = [];
  for (let i = 0; i < items.length; i += size)
    results.push(...(await Promise.all(items.slice(i, i + size).map(work))));
  return results;
}

/**
 * Each e-service's probes as Prometheus counters (department, environment, e-service, outcome up or down),
 * summed over the months kept, from the stores as last written: they continue across controller restarts.
 */
function registerProbeMetrics(
  registry: Registry,
  stores: () => Map<string, { months: AvailabilityMonths }>,
): void {
  new Counter({
    name: "govhost_eservice_probes_total",
    help: "The platform's availability probes of the e-service through the ingress, by outcome",
    labelNames: ["department", "environment", "eservice", "outcome"],
    registers: [registry],
    collect() {
      this.reset();
      for (const [department, { months }] of stores())
        for (const month of Object.values(months))
          for (const [key, counts] of Object.entries(month)) {
            for (const outcome of ["up", "down"] as const)
              if (counts[outcome] > 0)
                this.inc({ ...eserviceLabels(department, key), outcome }, counts[outcome]);
          }
    },
  });
}
