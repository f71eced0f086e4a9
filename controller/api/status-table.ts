import { type StatusOwner, statusOwners } from "./conditions.ts";

/** A Markdown table of who writes which status field and condition (docs/architecture.md shows it). */
export function statusOwnershipTable(owners: Record<string, StatusOwner> = statusOwners): string {
  const rows = Object.entries(owners).map(([writer, owner]) => {
    const fields = [...owner.fields, ...(owner.observesGeneration ? ["observedGeneration"] : [])];
    const conditions = Object.entries(owner.conditions)
      .map(([type, reasons]) => `${type} (${reasons.join(", ")})`)
      .join("; ");
    return `| ${owner.kind} | ${writer} | \`${owner.fieldManager}\` | ${fields.join(", ")} | ${conditions} |`;
  });
  return [
    "| kind | writer | field manager | status fields | conditions (reasons) |",
    "| --- | --- | --- | --- | --- |",
    ...rows,
  ].join("\n");
}
