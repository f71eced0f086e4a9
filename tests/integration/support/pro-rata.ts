import type { ChargebackStatement } from "../../../controller/api/chargeback.ts";
import { periodBounds } from "../../../lib/chargeback/calendar.ts";
import { readLedger } from "../../../lib/chargeback/ledger-read.ts";
import { partitionLedger } from "../../../lib/chargeback/ledger-shards.ts";
import type { KubeClient, KubeObject } from "../../../lib/kube/client.ts";
import { type ResourceType, resourcePath, resources } from "../../../lib/kube/resources.ts";
import { eventually } from "./kube.ts";

/**
 * What a monthly-priced allocation held over [fromMs, toMs) must cost, computed independently of the engine:
 * held time over the month's length to 6 decimals (half up), and the amount rounded once.
 */
export function monthlyProRata(
  fromMs: number,
  toMs: number,
  period: string,
  priceMinor: number,
  timeZone: string,
): { quantity: string; amountMinor: number } {
  const bounds = periodBounds(period, timeZone);
  const month = BigInt(bounds.end - bounds.start);
  const held = BigInt(toMs - fromMs);
  const micro = (2n * held * 1_000_000n + month) / (2n * month);
  return {
    quantity: `0.${micro.toString().padStart(6, "0")}`.replace(/0+$/, ""),
    amountMinor: Number((2n * held * BigInt(priceMinor) + month) / (2n * month)),
  };
}

/**
 * Deletes an object that the test holds with a finalizer of its own, then releases it; resolves to the
 * deletion time the API server stamped (the instant metering must end the allocation at).
 */
export async function deleteHeld(
  admin: KubeClient,
  type: ResourceType,
  name: string,
  namespace: string,
): Promise<number> {
  const deleting = await admin.call<KubeObject>("DELETE", resourcePath(type, { name, namespace }));
  await admin.mergePatch(type, name, { metadata: { finalizers: null } }, { namespace });
  return Date.parse(deleting.metadata?.deletionTimestamp ?? "");
}

/** Waits until the statement has a line of `resource` with exactly `quantity`, and returns that line. */
export function waitForStatementLine(
  admin: KubeClient,
  statement: string,
  resource: string,
  quantity: string,
  amountMinor?: number,
  environment?: string,
) {
  return eventually(
    `statement ${statement} to show ${quantity} of ${resource}${environment ? ` in ${environment}` : ""}`,
    async () => {
      const found = await admin.find<ChargebackStatement & KubeObject>(
        resources.chargebackStatement,
        statement,
      );
      // With the amount too: a draft computed while the allocation was still open can share the quantity.
      const line = found?.spec.lines.find(
        (l) =>
          l.resource === resource &&
          l.quantity === quantity &&
          (environment === undefined || l.environment === environment) &&
          (amountMinor === undefined || l.amountMinor === amountMinor),
      );
      if (line) return line;
      // Shown when the wait times out: what the statement had instead.
      const seen = found?.spec.lines.map((l) => [l.resource, l.quantity, l.amountMinor]);
      throw new Error(`lines ${JSON.stringify(seen)}`);
    },
    30_000,
  );
}

/**
 * A department's metering ledger as the controller stored it, all shards as one (keys: ledgerKeys): the
 * union of the shards the head names, as a single-shard ledger would hold it.
 */
export async function ledgerData(admin: KubeClient, department: string): Promise<Record<string, string>> {
  return partitionLedger(department, await readLedger(admin, department), 1)[0] ?? {};
}
