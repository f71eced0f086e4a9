/**
 * A response body as text, read no further than `maxBytes`: a server outside the platform's trust (a
 * tenant's page, a service broker) cannot make the controller buffer without limit. Past the limit the
 * body is cancelled and `tooLarge()` is thrown.
 */
export async function readBounded(
  response: { body: AsyncIterable<Uint8Array> | null },
  maxBytes: number,
  tooLarge: () => Error,
): Promise<string> {
  if (!response.body) return "";
  const chunks: Uint8Array[] = [];
  let size = 0;
  // Leaving the loop early (too large) cancels the stream.
  for await (const chunk of response.body) {
    size += chunk.byteLength;
    if (size > maxBytes) throw tooLarge();
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString("utf8");
}
