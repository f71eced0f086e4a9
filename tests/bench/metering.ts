// Benchmark: the cost engine on a month of 10,000 pods and 1,000,000 allocation changes (starts, resizes,
// stops), priced with a mid-month rate change. Prints statement computation time and peak memory.
//   npm run bench -- metering [--pods 10000] [--events 1000000]
import { parseArgs } from "node:util";
import { foldEnded } from "../../controller/metering/fold.ts";
import { periodBounds } from "../../lib/chargeback/calendar.ts";
import {
  type AllocationChange,
  integrate,
  type PriceVersion,
  statementLines,
} from "../../lib/chargeback/engine.ts";
import { billedChanges, ledgerKeys, serialize, serializeFolded } from "../../lib/chargeback/ledger.ts";
import { parseDecimal } from "../../lib/chargeback/rational.ts";
import { report } from "./_stats.ts";

const { values } = parseArgs({
  options: { pods: { type: "string", default: "10000" }, events: { type: "string", default: "1000000" } },
});
const pods = Number(values.pods);
const events = Number(values.events);
const period = periodBounds("2026-11", "Asia/Hong_Kong");
const span = period.end - period.start;

const price = (cpu: string) => ({
  cpu: parseDecimal(cpu),
  memory: parseDecimal("4.5"),
  storage: parseDecimal("80"),
  "public-endpoint": parseDecimal("20000"),
  eservice: parseDecimal("5000"),
});
const versions: PriceVersion[] = [
  { id: "v1", validFrom: period.start - 86_400_000, prices: price("35") },
  { id: "v2", validFrom: period.start + Math.floor(span / 2), prices: price("30.5") },
];

// Deterministic synthetic month: each pod gets events/pods changes of cpu and memory at sorted random
// instants; every tenth change ends the allocation for a while (a pod stopped and rescheduled).
let seed = 7;
const random = () => {
  seed = (seed * 1103515245 + 12345) % 2 ** 31;
  return seed / 2 ** 31;
};
const environments = ["dev", "staging", "prod"];
const changes: AllocationChange[] = [];
const perPod = Math.floor(events / pods / 2);
for (let p = 0; p < pods; p++) {
  const instants = Array.from({ length: perPod }, () => period.start + Math.floor(random() * span)).sort(
    (a, b) => a - b,
  );
  const environment = environments[p % 3] as string;
  for (const [i, at] of instants.entries()) {
    const stopped = i % 10 === 9;
    const cpu = stopped ? 0n : BigInt(50 + Math.floor(random() * 2000));
    const memory = stopped ? 0n : BigInt(64 + Math.floor(random() * 4096)) * 2n ** 20n;
    changes.push({ at, subject: `pod-${p}`, department: "bench", environment, resource: "cpu", amount: cpu });
    changes.push({
      at,
      subject: `pod-${p}`,
      department: "bench",
      environment,
      resource: "memory",
      amount: memory,
    });
  }
}

globalThis.gc?.();
const heapBefore = process.memoryUsage().heapUsed;
let peakRss = process.memoryUsage().rss;
const sampler = setInterval(() => {
  peakRss = Math.max(peakRss, process.memoryUsage().rss);
}, 5);
const t0 = performance.now();
const lines = integrate(changes, versions, period);
const t1 = performance.now();
const statement = statementLines(lines, versions);
const t2 = performance.now();
clearInterval(sampler);
peakRss = Math.max(peakRss, process.memoryUsage().rss);

report(`cost engine: ${pods} pods, ${changes.length} allocation changes, one month, 2 price versions`, {
  "integrate (exact)": `${((t1 - t0) / 1000).toFixed(2)} s`,
  "statement lines (rounding)": `${(t2 - t1).toFixed(1)} ms`,
  throughput: `${Math.round(changes.length / ((t2 - t0) / 1000)).toLocaleString("en")} changes/s`,
  "statement lines": statement.lines.length,
  "total (minor units)": statement.totalMinor.toLocaleString("en"),
  "heap after building the input": `${(heapBefore / 2 ** 20).toFixed(0)} MiB`,
  "peak RSS": `${(peakRss / 2 ** 20).toFixed(0)} MiB`,
});

// The ledger of that month: its serialized size as raw changes, and after folding it (every pod gone, as
// when pods are deleted; see controller/metering/fold.ts): what a department's ConfigMap would hold.
const raw = serialize({ department: "bench", changes });
const f0 = performance.now();
const folded = foldEnded({ department: "bench", changes }, [], {
  before: period.end,
  present: () => false,
  timeZone: "Asia/Hong_Kong",
  cuts: versions.map((v) => v.validFrom),
});
const f1 = performance.now();
const foldedData = {
  [ledgerKeys.changes]: serialize(folded.ledger),
  [ledgerKeys.folded]: serializeFolded(folded.folded),
};
const refolded = statementLines(integrate(billedChanges("bench", foldedData, "consumed"), versions, period));
report("ledger: the same month as stored in a department's ConfigMap", {
  "raw changes": `${(raw.length / 2 ** 20).toFixed(1)} MiB`,
  "fold time": `${((f1 - f0) / 1000).toFixed(2)} s`,
  "folded (pods gone)": `${folded.folded.length} buckets, ${((foldedData.changes.length + foldedData.folded.length) / 1024).toFixed(1)} KiB`,
  "statement from the folded ledger":
    refolded.totalMinor === statement.totalMinor ? "identical total" : "DIFFERENT",
});
