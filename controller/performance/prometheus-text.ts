// Reads the samples of a few metric families from Prometheus' text exposition format (version 0.0.4), as
// the ingress controller serves it. Hand-written rather than a library: the one parser on npm
// (parse-prometheus-text-format) has not changed since 2019, and three families need only this (docs/performance.md).

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Every sample of the families named in `wanted`; other lines, comments and malformed lines are skipped. */
export function parsePrometheusText(text: string, wanted: ReadonlySet<string>): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const sample = parseLine(line, wanted);
    if (sample) samples.push(sample);
  }
  return samples;
}

const nameEnd = /[{\s]/;

function parseLine(line: string, wanted: ReadonlySet<string>): Sample | undefined {
  const end = line.search(nameEnd);
  if (end <= 0) return undefined;
  const name = line.slice(0, end);
  if (!wanted.has(name)) return undefined;
  let at = end;
  const labels: Record<string, string> = {};
  if (line[at] === "{") {
    const parsed = parseLabels(line, at + 1, labels);
    if (parsed === undefined) return undefined;
    at = parsed;
  }
  const rest = line.slice(at).trim().split(/\s+/);
  const value = parseValue(rest[0] ?? "");
  return value === undefined ? undefined : { name, labels, value };
}

/** Reads `key="value",...}` from `start`; returns the index after `}`, or undefined when malformed. */
function parseLabels(line: string, start: number, labels: Record<string, string>): number | undefined {
  let at = start;
  for (;;) {
    while (line[at] === " " || line[at] === ",") at++;
    if (line[at] === "}") return at + 1;
    const equals = line.indexOf("=", at);
    if (equals < 0 || line[equals + 1] !== '"') return undefined;
    const key = line.slice(at, equals).trim();
    let value = "";
    at = equals + 2;
    for (;;) {
      const char = line[at];
      if (char === undefined) return undefined;
      if (char === '"') break;
      if (char === "\\") {
        const next = line[at + 1];
        value += next === "n" ? "\n" : (next ?? "");
        at += 2;
        continue;
      }
      value += char;
      at++;
    }
    labels[key] = value;
    at++;
  }
}

function parseValue(text: string): number | undefined {
  if (text === "+Inf") return Number.POSITIVE_INFINITY;
  if (text === "-Inf") return Number.NEGATIVE_INFINITY;
  if (text === "NaN") return Number.NaN;
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(text)) return undefined;
  return Number(text);
}
