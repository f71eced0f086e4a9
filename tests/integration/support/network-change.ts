/**
 * Chromium aborts every request in flight, with net::ERR_NETWORK_CHANGED, whenever any network interface of
 * its host appears, goes or changes address. A browser on the host of a node sees one each time a pod starts
 * or stops (its veth pair), so a navigation there can fail through no fault of the page; a person would
 * reload. This runs a browser scenario again, from its start, only for that reason and at most `tries` times.
 */
export async function retryingNetworkChange<T>(
  what: string,
  scenario: () => Promise<T>,
  tries = 3,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await scenario();
    } catch (error) {
      if (attempt >= tries || !String(error).includes("net::ERR_NETWORK_CHANGED")) throw error;
      console.warn(
        `${what}: the host's network changed under the browser (try ${attempt}), running it again`,
      );
    }
  }
}
