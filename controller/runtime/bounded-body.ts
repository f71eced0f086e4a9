/**
 * A response body as text, read no further than `maxBytes`: a server outside the platform's trust (a
 * tenant's page, a service broker) cannot make the controller buffer without limit. Past the limit the
 * body is cancelled and `tooLarge()` is thrown.
 */
export async function readBounded(
  response: Response,
  maxBytes: number,
  tooLarge: () => Error,
): Promise<string> {
  const reader = response.body?.getReader();
  if (!reader) return "";
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel();
      throw tooLarge();
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString("utf8");
}
