import { describe, expect, it } from "vitest";
import {
  type Amounts,
  planQuota,
  type QuotaObservation,
  safeTargets,
} from "../../controller/tenancy/quota.ts";

const envs = ["dev", "staging", "prod"];
const cpu = "requests.cpu";
const sum = (values: bigint[]) => values.reduce((a, b) => a + b, 0n);

describe("tenant-wide quota plan", () => {
  it("gives each environment its usage plus an equal share of the headroom, summing to the total", () => {
    // Amounts are in thousandths: 10 pods of quota, dev runs 1, prod 2; 7 are free, split in whole pods.
    const plan = planQuota({ pods: 10_000n }, envs, {}, { dev: { pods: 1000n }, prod: { pods: 2000n } });
    expect(plan).toEqual({ dev: { pods: 4000n }, staging: { pods: 2000n }, prod: { pods: 4000n } });
    expect(sum(envs.map((e) => plan[e]?.pods ?? 0n))).toBe(10_000n);
  });

  it("honours weights and gives the rounding remainder to the heaviest environment", () => {
    const plan = planQuota({ "requests.cpu": 1000n }, envs, { dev: 1, staging: 1, prod: 2 }, {});
    expect(plan).toEqual({
      dev: { "requests.cpu": 250n },
      staging: { "requests.cpu": 250n },
      prod: { "requests.cpu": 500n },
    });
    const remainder = planQuota({ "requests.cpu": 1001n }, envs, { dev: 1, staging: 1, prod: 2 }, {});
    expect(remainder.prod?.["requests.cpu"]).toBe(501n);
    const uneven = planQuota({ pods: 10_000n }, envs, { dev: 1, staging: 1, prod: 1 }, {});
    expect(uneven).toEqual({ dev: { pods: 4000n }, staging: { pods: 3000n }, prod: { pods: 3000n } });
  });

  it("freezes every environment at its usage when the department is at or over its quota", () => {
    const plan = planQuota(
      { pods: 3000n },
      ["dev", "prod"],
      {},
      { dev: { pods: 1000n }, prod: { pods: 4000n } },
    );
    expect(plan).toEqual({ dev: { pods: 1000n }, prod: { pods: 4000n } });
  });
});

function observation(
  environment: string,
  hard: bigint,
  used: bigint,
  statusHard = hard,
  resource = "pods",
): QuotaObservation {
  return {
    environment,
    specHard: { [resource]: hard },
    statusHard: { [resource]: statusHard },
    used: { [resource]: used },
  };
}

describe("safe quota targets", () => {
  it("applies decreases at once and holds increases back until the decrease is in force", () => {
    // prod used its share; dev's limit must shrink so prod can grow. Quota admission still enforces
    // dev's old status.hard, so prod may not take that room yet.
    const totals = { pods: 10n };
    const plan: Record<string, Amounts> = { dev: { pods: 2n }, prod: { pods: 8n } };
    const before = [observation("dev", 5n, 0n), observation("prod", 5n, 5n)];
    expect(safeTargets(totals, plan, before)).toEqual({ dev: { pods: 2n }, prod: { pods: 5n } });
    const confirmed = [observation("dev", 2n, 0n), observation("prod", 5n, 5n)];
    expect(safeTargets(totals, plan, confirmed)).toEqual({ dev: { pods: 2n }, prod: { pods: 8n } });
  });

  it("never lets the limits that may be in force exceed the department total (randomised)", () => {
    let seed = 42;
    const random = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    for (let round = 0; round < 2000; round++) {
      const total = BigInt(random(50) + 1);
      const current = envs.map((env) => {
        const statusHard = BigInt(random(20));
        return observation(
          env,
          BigInt(random(20)),
          BigInt(random(Number(statusHard) + 1)),
          statusHard,
          "requests.cpu",
        );
      });
      // Start from a state that respects the invariant, as the controller maintains it.
      const inForce = (o: QuotaObservation) =>
        [o.specHard[cpu], o.statusHard[cpu], o.used[cpu]].reduce((a, b) => ((b ?? 0n) > (a ?? 0n) ? b : a)) ??
        0n;
      if (sum(current.map(inForce)) > total) continue;
      const plan = planQuota(
        { [cpu]: total },
        envs,
        {},
        Object.fromEntries(current.map((o) => [o.environment, o.used])),
      );
      const targets = safeTargets({ [cpu]: total }, plan, current);
      const after = current.map((o) => ({ ...o, specHard: { [cpu]: targets[o.environment]?.[cpu] ?? 0n } }));
      expect(sum(after.map(inForce))).toBeLessThanOrEqual(total);
      for (const env of envs) expect(targets[env]?.[cpu] ?? 0n).toBeLessThanOrEqual(plan[env]?.[cpu] ?? 0n);
    }
  });
});
