import Type, { type Static, type TSchema } from "typebox";
import Value from "typebox/value";

// One declaration per GOVHOST_* variable: its type (a TypeBox schema), default and description. A process
// reads its settings once, at start, through `loadConfig`; a value that does not fit stops it with a message
// naming the variable and the expected form, instead of becoming NaN or an empty list somewhere later.

export interface Setting<S extends TSchema = TSchema> {
  /** The environment variable. */
  env: string;
  schema: S;
  /** Used when the variable is unset or empty; undefined means the setting is optional. */
  default?: Static<S>;
  /** Required: start fails when unset. */
  required?: boolean;
  /** What the setting does (shown in docs/configuration.md). */
  description: string;
  /** The expected form, in words, for the error message and the docs (e.g. "whole milliseconds ≥ 1"). */
  form: string;
  /** Values that are secrets are never echoed back in an error. */
  secret?: boolean;
}

export type SettingsSpec = Record<string, Setting>;

type ValueOf<S extends Setting> =
  S extends Setting<infer T>
    ? S["required"] extends true
      ? Static<T>
      : S extends { default: unknown }
        ? Static<T>
        : Static<T> | undefined
    : never;

export type Config<Spec extends SettingsSpec> = { [K in keyof Spec]: ValueOf<Spec[K]> };

export class ConfigError extends Error {
  readonly variable: string;
  constructor(variable: string, message: string) {
    super(message);
    this.name = "ConfigError";
    this.variable = variable;
  }
}

/** Parses one raw environment string by its schema: numbers, booleans and comma lists are converted first. */
function parseRaw(setting: Setting, raw: string): unknown {
  const schema = setting.schema as TSchema & { type?: string };
  if (schema.type === "array") {
    const items = raw
      .split(",")
      .map((item) => item.trim())
      .filter(Boolean);
    return Value.Convert(setting.schema, items);
  }
  if (schema.type === "integer" || schema.type === "number") {
    // Number("") is 0 and Number("1e3") is 1000; only plain decimal integers are accepted.
    return /^-?\d+$/.test(raw.trim()) ? Number(raw.trim()) : raw;
  }
  if (schema.type === "boolean") {
    if (raw === "true") return true;
    if (raw === "false") return false;
    return raw;
  }
  return raw;
}

/** Reads every setting of a spec from `env`, or throws a ConfigError naming the first variable that is wrong. */
export function loadConfig<Spec extends SettingsSpec>(
  spec: Spec,
  env: Record<string, string | undefined>,
): Config<Spec> {
  const result: Record<string, unknown> = {};
  for (const [key, setting] of Object.entries(spec)) {
    const raw = env[setting.env];
    if (raw === undefined || raw === "") {
      if (setting.required)
        throw new ConfigError(setting.env, `${setting.env} is not set: expected ${setting.form}`);
      result[key] = setting.default;
      continue;
    }
    const value = parseRaw(setting, raw);
    if (!Value.Check(setting.schema, value)) {
      const shown = setting.secret ? "(value hidden)" : JSON.stringify(raw);
      throw new ConfigError(setting.env, `${setting.env}=${shown} is not valid: expected ${setting.form}`);
    }
    result[key] = value;
  }
  return result as Config<Spec>;
}

/** Whole milliseconds within bounds, the form of every *_MS setting. */
export const Milliseconds = (minimum = 1, maximum = 7 * 24 * 3_600_000) => Type.Integer({ minimum, maximum });

/** A TCP port. */
export const Port = Type.Integer({ minimum: 0, maximum: 65_535 });

/** An IANA time zone name that this runtime's time zone data knows. */
const TimeZone = Type.Refine(Type.String({ minLength: 1, maxLength: 64 }), (zone) => {
  try {
    new Intl.DateTimeFormat("en", { timeZone: zone });
    return true;
  } catch {
    return false;
  }
});

/** GOVHOST_TIMEZONE, read by the controller and the portal API alike; each gives the platform default. */
export const timeZoneSetting = (defaultZone: string) => ({
  env: "GOVHOST_TIMEZONE",
  schema: TimeZone,
  default: defaultZone,
  form: "an IANA time zone this runtime knows (e.g. Asia/Hong_Kong)",
  description:
    "The chargeback calendar: statement months, budgets and usage windows begin at midnight in this zone.",
});

/** A Markdown table of a spec's settings, for docs/configuration.md. */
export function settingsTable(spec: SettingsSpec): string {
  const rows = Object.values(spec).map((s) => {
    const fallback = s.required
      ? "required"
      : s.default === undefined
        ? "unset"
        : Array.isArray(s.default) && s.default.length === 0
          ? "empty"
          : `\`${Array.isArray(s.default) ? s.default.join(",") : String(s.default)}\``;
    return `| \`${s.env}\` | ${s.form} | ${fallback} | ${s.description} |`;
  });
  return ["| variable | form | default | what it does |", "| --- | --- | --- | --- |", ...rows].join("\n");
}
