/**
 * A watch event's text without its object's `metadata.managedFields`, cut out before the text is parsed.
 *
 * Server-side apply's field ownership records are often the larger part of an object, and the larger part
 * of its JSON in objects (every owned field is a nested key), yet no cache reads them. Parsing them only to
 * drop them was about a third of the text a busy pod watch parsed (docs/reliability.md). The API server writes
 * `metadata` before `spec` and `status`, so the first `"managedFields":[` key in an event is its object's;
 * the array is skipped by bracket depth, outside string literals. Text that does not match what is
 * expected is returned as it is (the caller parses it whole).
 */
const key = '"managedFields":[';

export function withoutManagedFieldsText(json: string): string {
  const start = json.indexOf(key);
  if (start < 0) return json;
  const end = endOfArray(json, start + key.length - 1);
  if (end < 0) return json;
  // The key and its array, and the comma on one side of them (metadata has other keys, e.g. name).
  if (json[end + 1] === ",") return json.slice(0, start) + json.slice(end + 2);
  if (json[start - 1] === ",") return json.slice(0, start - 1) + json.slice(end + 1);
  return json.slice(0, start) + json.slice(end + 1);
}

/** Index of the `]` closing the array that opens at `open`, or -1 when the text ends first. */
function endOfArray(json: string, open: number): number {
  let depth = 0;
  for (let i = open; i < json.length; i++) {
    const c = json.charCodeAt(i);
    if (c === 0x22) {
      // A string: skip to its closing quote (a backslash escapes the next character).
      for (i++; i < json.length; i++) {
        const s = json.charCodeAt(i);
        if (s === 0x5c) i++;
        else if (s === 0x22) break;
      }
    } else if (c === 0x5b || c === 0x7b) depth++;
    else if (c === 0x5d || c === 0x7d) {
      depth--;
      if (depth === 0) return c === 0x5d ? i : -1;
    }
  }
  return -1;
}
