import { periodBounds, periodOf } from "../../lib/chargeback/calendar.ts";
import type { Ledger } from "../../lib/chargeback/ledger.ts";
import type { KubeClient, KubeObject } from "../../lib/kube/client.ts";
import { resources } from "../../lib/kube/resources.ts";
import { stableJson } from "../../lib/stable-json.ts";
import { type ChargebackStatement, statementLabels } from "../api/chargeback.ts";
import { fieldManagers } from "../api/conditions.ts";
import { labels } from "../api/group.ts";
import type { RateCard } from "../api/ratecard.ts";
import type { MonthStatement } from "./snapshot.ts";

/**
 * What this process last wrote or read of each statement: an unchanged statement is not written again, and
 * one known for less than `statementRecheckMs` is not read again. So a statement changed or deleted by
 * anyone else is put right within that time.
 */
export type KnownStatements = Map<string, { spec: string; finalized: boolean; readAt: number }>;

const statementRecheckMs = 60_000;

/**
 * Recomputes the current month's draft and, until it is finalized, last month's statement (late events
 * still land there). A month is finalized once `finalizeAfterMs` has passed since it ended; after that
 * the statement is immutable (baseline rule GH-FIN-001) and corrections go to a later month.
 */
export async function writeStatements(
  client: KubeClient,
  options: { timeZone: string; finalizeAfterMs: number },
  ledger: Ledger,
  card: RateCard,
  statementOf: MonthStatement,
  now: number,
  known: KnownStatements = new Map(),
): Promise<void> {
  const { timeZone } = options;
  const current = periodOf(now, timeZone);
  const previous = periodOf(periodBounds(current, timeZone).start - 1, timeZone);
  for (const period of [previous, current]) {
    const bounds = periodBounds(period, timeZone);
    const name = `${ledger.department}-${period}`;
    let stored = known.get(name);
    if (!stored || now - stored.readAt >= statementRecheckMs) {
      const existing = await client.find<ChargebackStatement & KubeObject>(
        resources.chargebackStatement,
        name,
      );
      stored = {
        spec: existing ? stableJson(existing.spec) : "",
        finalized: existing?.spec.finalized === true,
        readAt: now,
      };
      known.set(name, stored);
    }
    if (stored.finalized) continue;
    const { lines, totalMinor } = statementOf(period);
    if (stored.spec === "" && lines.length === 0) continue;
    const finalized = now >= bounds.end + options.finalizeAfterMs;
    const statement: ChargebackStatement & KubeObject = {
      apiVersion: "govhost.io/v1alpha1",
      kind: "ChargebackStatement",
      metadata: {
        name,
        labels: {
          [labels.department]: ledger.department,
          [statementLabels.period]: period,
          [statementLabels.finalized]: String(finalized),
        },
      },
      spec: {
        department: ledger.department,
        period,
        timeZone,
        currency: card.spec.currency,
        lines,
        totalMinor,
        finalized,
      },
    };
    const spec = stableJson(statement.spec);
    if (spec === stored.spec) continue;
    await client.apply(statement, { fieldManager: fieldManagers.metering });
    known.set(name, { spec, finalized: statement.spec.finalized, readAt: stored.readAt });
  }
}
