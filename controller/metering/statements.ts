import { periodBounds, periodOf } from "../../lib/chargeback/calendar.ts";
import type { Ledger } from "../../lib/chargeback/ledger.ts";
import type { KubeClient, KubeObject } from "../../lib/kube/client.ts";
import { resources } from "../../lib/kube/resources.ts";
import type { ChargebackStatement } from "../api/chargeback.ts";
import { fieldManagers } from "../api/conditions.ts";
import { labels } from "../api/group.ts";
import type { RateCard } from "../api/ratecard.ts";
import type { MonthStatement } from "./snapshot.ts";

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
): Promise<void> {
  const { timeZone } = options;
  const current = periodOf(now, timeZone);
  const previous = periodOf(periodBounds(current, timeZone).start - 1, timeZone);
  for (const period of [previous, current]) {
    const bounds = periodBounds(period, timeZone);
    const name = `${ledger.department}-${period}`;
    const existing = await client.find<ChargebackStatement & KubeObject>(resources.chargebackStatement, name);
    if (existing?.spec.finalized) continue;
    const { lines, totalMinor } = statementOf(period);
    if (!existing && lines.length === 0) continue;
    const statement: ChargebackStatement & KubeObject = {
      apiVersion: "govhost.io/v1alpha1",
      kind: "ChargebackStatement",
      metadata: { name, labels: { [labels.department]: ledger.department, "govhost.io/period": period } },
      spec: {
        department: ledger.department,
        period,
        timeZone,
        currency: card.spec.currency,
        lines,
        totalMinor,
        finalized: now >= bounds.end + options.finalizeAfterMs,
      },
    };
    await client.apply(statement, { fieldManager: fieldManagers.metering });
  }
}
