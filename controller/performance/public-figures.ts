import type { Logger } from "pino";
import type { KubeClient, KubeObject } from "../../lib/kube/client.ts";
import { resources } from "../../lib/kube/resources.ts";
import type { AvailabilityMonths } from "../../lib/performance/availability-store.ts";
import {
  feedbackNamespace,
  type RatingMonths,
  ratingsComponent,
  readRatingsStore,
} from "../../lib/performance/feedback-store.ts";
import {
  type PublicFigure,
  type PublicFigures,
  publicFiguresData,
  publicFiguresName,
  publicPercent,
} from "../../lib/performance/public-figures.ts";
import { labels } from "../api/group.ts";
import { controllerIdentity } from "../api/rbac.ts";
import type { ProbedEService } from "./availability-probing.ts";
import { writeStore } from "./store-object.ts";
import { eserviceKey } from "./traffic-counting.ts";

// The figures the public catalogue shows beside each public e-service (this month's availability and
// satisfaction), written by the leader after each probe round into one ConfigMap the portal API reads
// (lib/performance/public-figures.ts, docs/performance.md).

/**
 * Each public e-service's figures for `month`. A department whose probes could not be read this round
 * (`availability` answers undefined) keeps the availability published before.
 */
export function publicFiguresOf(
  eservices: readonly ProbedEService[],
  month: string,
  availability: (department: string) => AvailabilityMonths | undefined,
  ratings: ReadonlyMap<string, RatingMonths>,
  previous: PublicFigures,
): PublicFigures {
  const figures: PublicFigures = {};
  for (const eservice of eservices) {
    const key = eserviceKey(eservice);
    const figure: PublicFigure = { period: month };
    const months = availability(eservice.department);
    const probes = months?.[month]?.[key];
    if (probes && probes.up + probes.down > 0)
      figure.availabilityPercent = publicPercent(probes.up, probes.up + probes.down);
    else if (!months && previous[key]?.period === month && previous[key]?.availabilityPercent !== undefined)
      figure.availabilityPercent = previous[key].availabilityPercent;
    const rated = ratings.get(eservice.department)?.[month]?.[key];
    const count = rated?.reduce((sum, n) => sum + n, 0) ?? 0;
    if (rated && count > 0) {
      figure.satisfactionPercent = publicPercent((rated[3] ?? 0) + (rated[4] ?? 0), count);
      figure.ratings = count;
    }
    if (figure.availabilityPercent !== undefined || figure.satisfactionPercent !== undefined)
      figures[key] = figure;
  }
  return figures;
}

/** Every department's ratings (one list of the small ratings stores); an unreadable one is left out. */
export async function readAllRatings(client: KubeClient, log: Logger): Promise<Map<string, RatingMonths>> {
  const stores = await client.list<KubeObject & { data?: Record<string, string> }>(resources.configMap, {
    namespace: feedbackNamespace,
    labelSelector: Object.entries(ratingsComponent)
      .map(([key, value]) => `${key}=${value}`)
      .join(","),
  });
  const ratings = new Map<string, RatingMonths>();
  for (const store of stores.items) {
    const department = store.metadata?.labels?.[labels.department];
    const months = readRatingsStore(store.data);
    if (!department) continue;
    if (months instanceof Error)
      log.warn({ store: store.metadata?.name, err: months }, "ratings store unreadable");
    else ratings.set(department, months);
  }
  return ratings;
}

/** Writes the figures when they changed since the last write (conditionally, on the object last seen). */
export class PublicFiguresWriter {
  private written: { text: string; object: KubeObject; figures: PublicFigures } | undefined;
  private readonly client: KubeClient;

  constructor(client: KubeClient) {
    this.client = client;
  }

  /** The figures as last written by this process ({} before its first write). */
  get current(): PublicFigures {
    return this.written?.figures ?? {};
  }

  async write(figures: PublicFigures): Promise<void> {
    const data = publicFiguresData(figures);
    const text = JSON.stringify(data);
    if (text === this.written?.text) return;
    const namespace = controllerIdentity.namespace;
    const current =
      this.written?.object ??
      (await this.client.find<KubeObject>(resources.configMap, publicFiguresName, namespace));
    try {
      const object = await writeStore(this.client, current, publicFiguresName, data);
      this.written = { text, object, figures };
    } catch (error) {
      // Read again next time (another leader may have written it meanwhile).
      this.written = undefined;
      throw error;
    }
  }
}
