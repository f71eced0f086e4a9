/**
 * A watch event's text without its object's `metadata.managedFields`, cut out before the text is decoded
 * and parsed.
 *
 * Server-side apply's field ownership records are often the larger part of an object, and the larger part
 * of its JSON in objects (every owned field is a nested key), yet no cache reads them. Parsing them only to
 * drop them was about a third of the text a busy pod watch parsed (docs/reliability.md). The API server writes
 * `metadata` before `spec` and `status`, so the first `"managedFields":[` key in an event is its object's;
 * the array is skipped by bracket depth, outside string literals. Text that does not match what is
 * expected is decoded whole (the caller parses it as it is).
 */
const key = Buffer.from('"managedFields":[');
const comma = 0x2c;

/**
 * `bytes` (UTF-8 JSON) decoded, without the first managedFields array: its bytes are never decoded. The cut
 * is made in `bytes` itself (what follows the array moves over it), so the text is decoded once, whole,
 * into one string; `bytes` is left overwritten.
 */
export function withoutManagedFieldsJson(bytes: Buffer): string {
  const start = bytes.indexOf(key);
  if (start < 0) return bytes.toString("utf8");
  const end = endOfArray(bytes, start + key.length - 1);
  if (end < 0) return bytes.toString("utf8");
  // The key and its array, and the comma on one side of them (metadata has other keys, e.g. name).
  const [before, after] =
    bytes[end + 1] === comma
      ? [start, end + 2]
      : bytes[start - 1] === comma
        ? [start - 1, end + 1]
        : [start, end + 1];
  bytes.copyWithin(before, after);
  return bytes.toString("utf8", 0, bytes.length - (after - before));
}

/**
 * Index of the `]` closing the array that opens at `open`, or -1 when the text ends first. Every byte the
 * scan acts on is ASCII; the bytes of a multi-byte UTF-8 character are all above 0x7f, so never mistaken.
 */
function endOfArray(json: Buffer, open: number): number {
  let depth = 0;
  for (let i = open; i < json.length; i++) {
    const c = json[i];
    if (c === 0x22) {
      // A string: skip to its closing quote (a backslash escapes the next character).
      for (i++; i < json.length; i++) {
        const s = json[i];
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
