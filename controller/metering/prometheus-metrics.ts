import { Counter, Gauge, type Registry } from "prom-client";
import type { MeteringSnapshot } from "./snapshot.ts";

// The finance metrics contract (DESIGN.md): cumulative usage and cost counters, current allocation and the
// budget ratio, per department (and environment/resource), from the latest metering snapshot of each.
// Money is in currency units (minor units / 100); usage counters restart from the ledger, so they continue
// across controller restarts.

type Snapshots = () => Map<string, { snapshot: MeteringSnapshot; currency: string; budgetMinor?: number }>;

const split = (key: string) => {
  const [environment = "", resource = ""] = key.split("|");
  return { environment, resource };
};

export function registerMeteringMetrics(registry: Registry, snapshots: Snapshots): void {
  const usage = (name: string, help: string, resource: string, divisor: bigint) =>
    new Counter({
      name,
      help,
      labelNames: ["department", "environment"],
      registers: [registry],
      collect() {
        this.reset();
        for (const [department, { snapshot }] of snapshots()) {
          for (const [key, amountMs] of snapshot.usageAmountMs) {
            const { environment, resource: r } = split(key);
            if (r === resource) this.inc({ department, environment }, Number(amountMs) / Number(divisor));
          }
        }
      },
    });
  // cpu amounts are millicores, memory and storage bytes; amount x ms -> unit-seconds.
  usage(
    "govhost_usage_cpu_core_seconds_total",
    "CPU allocated over time, in core-seconds",
    "cpu",
    1_000_000n,
  );
  usage(
    "govhost_usage_memory_byte_seconds_total",
    "Memory allocated over time, in byte-seconds",
    "memory",
    1000n,
  );
  usage(
    "govhost_usage_storage_byte_seconds_total",
    "Storage allocated over time, in byte-seconds",
    "storage",
    1000n,
  );

  new Counter({
    name: "govhost_chargeback_cost_total",
    help: "Cost charged so far, all months, in currency units (as billed: rounded per statement line)",
    labelNames: ["department", "resource", "currency"],
    registers: [registry],
    collect() {
      this.reset();
      for (const [department, { snapshot, currency }] of snapshots()) {
        for (const [resource, minor] of snapshot.costMinor)
          this.inc({ department, resource, currency }, minor / 100);
      }
    },
  });

  new Gauge({
    name: "govhost_budget_used_ratio",
    help: "This month's charges so far divided by the department's monthly budget",
    labelNames: ["department"],
    registers: [registry],
    collect() {
      this.reset();
      for (const [department, { snapshot, budgetMinor }] of snapshots()) {
        if (budgetMinor) this.set({ department }, snapshot.monthTotalMinor / budgetMinor);
      }
    },
  });

  new Gauge({
    name: "govhost_allocation",
    help: "What is allocated now (cpu in cores, memory and storage in bytes, endpoints and e-services in counts)",
    labelNames: ["department", "environment", "resource"],
    registers: [registry],
    collect() {
      this.reset();
      for (const [department, { snapshot }] of snapshots()) {
        for (const [key, amount] of snapshot.allocated) {
          const { environment, resource } = split(key);
          this.set(
            { department, environment, resource },
            resource === "cpu" ? Number(amount) / 1000 : Number(amount),
          );
        }
      }
    },
  });
}
