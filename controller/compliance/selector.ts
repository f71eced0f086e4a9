/** A Kubernetes label selector (matchLabels and matchExpressions). */
export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: string; values?: string[] }[];
}

/** Whether `labels` satisfy `selector`, with the API server's semantics (an empty selector matches all). */
export function matchesSelector(
  selector: LabelSelector | undefined,
  labels: Record<string, string>,
): boolean {
  if (!selector) return true;
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) {
    if (labels[key] !== value) return false;
  }
  for (const { key, operator, values = [] } of selector.matchExpressions ?? []) {
    const has = key in labels;
    const value = labels[key];
    if (operator === "Exists" && !has) return false;
    if (operator === "DoesNotExist" && has) return false;
    if (operator === "In" && !(has && values.includes(value as string))) return false;
    if (operator === "NotIn" && has && values.includes(value as string)) return false;
  }
  return true;
}
