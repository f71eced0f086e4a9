import type { KubeObject } from "../../lib/kube/client.ts";
import { statusOwners } from "../api/conditions.ts";
import type { Department } from "../api/department.ts";
import type { StatusWriter } from "../runtime/status-writer.ts";
import { forecastMinor, type MeteringSnapshot } from "./snapshot.ts";

/** Budget status and condition of a department: warn at 80% of the month's budget, fail at 100%. */
export async function writeBudget(
  status: StatusWriter,
  dept: (Department & KubeObject) | undefined,
  snapshot: MeteringSnapshot,
  currency: string,
): Promise<void> {
  const budget = dept?.spec.monthlyBudget;
  if (!dept || !budget) return;
  const limitMinor = Math.round(budget.amount * 100);
  const usedRatio = limitMinor > 0 ? snapshot.monthTotalMinor / limitMinor : 0;
  const forecast = forecastMinor(snapshot);
  const condition =
    usedRatio >= 1
      ? { type: "BudgetHealthy" as const, status: "False" as const, reason: "OverBudget" as const }
      : usedRatio >= 0.8
        ? { type: "BudgetHealthy" as const, status: "False" as const, reason: "NearBudget" as const }
        : { type: "BudgetHealthy" as const, status: "True" as const, reason: "WithinBudget" as const };
  const money = (minor: number) => `${currency} ${(minor / 100).toFixed(2)}`;
  const message = `${money(snapshot.monthTotalMinor)} of ${money(limitMinor)} spent this month (${Math.round(usedRatio * 100)}%); forecast ${money(forecast)}`;
  await status.write(statusOwners.metering, dept, {
    fields: {
      budget: {
        currency,
        limitMinor,
        spentMinor: snapshot.monthTotalMinor,
        forecastMinor: forecast,
        usedRatio: Math.round(usedRatio * 10_000) / 10_000,
      },
    },
    conditions: [{ ...condition, message }],
    now: new Date(snapshot.at),
    // A new forecast alone is not worth a write: the amount spent, the limit or the reason must change.
    changed: (before, next) => {
      const key = (part: Record<string, unknown>) => {
        const spent = part.budget as { spentMinor?: number; limitMinor?: number } | undefined;
        const reason = (part.conditions as { reason?: string }[] | undefined)?.[0]?.reason;
        return `${spent?.spentMinor}/${spent?.limitMinor}/${reason}`;
      };
      return key(before) !== key(next);
    },
  });
}
