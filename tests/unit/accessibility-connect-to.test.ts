import { createServer, request, type Server } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { OriginProxy } from "../../controller/accessibility/origin-guard.ts";
import { fetchPage, PageFetchError } from "../../controller/accessibility/page-fetch.ts";

// The scanner reaches an e-service at its Service's cluster IP while the pages keep the Service's name as
// their host: a name no resolver here knows (.invalid) must still be fetched, from the given address.
describe("scanning a site at a given address", () => {
  let site: Server;
  let port = 0;
  const hosts: string[] = [];

  beforeAll(async () => {
    site = createServer((req, res) => {
      hosts.push(req.headers.host ?? "");
      if (req.url === "/moved") {
        res.writeHead(302, { location: "/" });
        res.end();
        return;
      }
      res.writeHead(200, { "content-type": "text/html" });
      res.end(`<html lang="en"><title>t</title><p>${req.url}</p></html>`);
    });
    await new Promise<void>((resolve) => site.listen(0, "127.0.0.1", () => resolve()));
    port = (site.address() as { port: number }).port;
  });

  afterAll(() => {
    site.close();
  });

  it("fetches a page from the given address and port, keeping the URL's host name, following redirects", async () => {
    const url = "http://visa-status.immd-prod.invalid/moved";
    const page = await fetchPage(url, {
      timeoutMs: 5_000,
      maxBytes: 10_000,
      connectTo: { address: "127.0.0.1", port },
    });
    expect(page.url).toBe("http://visa-status.immd-prod.invalid/");
    expect(page.html).toContain("<p>/</p>");
    expect(hosts.slice(-2)).toEqual(["visa-status.immd-prod.invalid", "visa-status.immd-prod.invalid"]);
    // Without the address the name does not resolve: the address is what made it work.
    await expect(fetchPage(url, { timeoutMs: 5_000, maxBytes: 10_000 })).rejects.toThrow(PageFetchError);
    await expect(
      fetchPage(url, { timeoutMs: 5_000, maxBytes: 10_000, connectTo: { address: "not-an-address", port } }),
    ).rejects.toThrow(/not an IP address/);
  });

  it("has the browser's proxy connect to the given address and port for the origin", async () => {
    const proxy = await OriginProxy.start("http://visa-status.immd-prod.invalid/", undefined, {
      address: "127.0.0.1",
      port,
    });
    try {
      const body = await new Promise<string>((resolve, reject) => {
        const req = request(
          { host: "127.0.0.1", port: proxy.port, path: "http://visa-status.immd-prod.invalid/apply" },
          (res) => {
            let text = "";
            res.on("data", (chunk: Buffer) => {
              text += chunk.toString();
            });
            res.on("end", () => resolve(text));
          },
        );
        req.on("error", reject);
        req.end();
      });
      expect(body).toContain("<p>/apply</p>");
      expect(hosts.at(-1)).toBe("visa-status.immd-prod.invalid");
    } finally {
      await proxy.close();
    }
  });
});
