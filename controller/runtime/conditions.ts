import type { Condition } from "../api/schema-helpers.ts";

export type ConditionInput = Omit<Condition, "lastTransitionTime" | "observedGeneration">;

/**
 * Merges new conditions into the existing list: lastTransitionTime changes only when a condition's status
 * changes, every condition carries the generation it describes, and other condition types are kept.
 */
export function mergeConditions(
  existing: Condition[] | undefined,
  updates: ConditionInput[],
  generation: number | undefined,
  now: Date,
): Condition[] {
  const result = new Map((existing ?? []).map((c) => [c.type, c]));
  for (const update of updates) {
    const previous = result.get(update.type);
    const lastTransitionTime =
      previous && previous.status === update.status
        ? previous.lastTransitionTime
        : now.toISOString().replace(/\.\d+Z$/, "Z");
    result.set(update.type, {
      ...update,
      lastTransitionTime,
      ...(generation !== undefined ? { observedGeneration: generation } : {}),
    });
  }
  return [...result.values()];
}
