/**
 * The accessibility scanner's browser when the controller runs as pods: a container of its own in the
 * controller's pod, without the service-account token, running Playwright's server on the pod's loopback.
 * Each connection gets its own Chromium, which ends when the connection closes (one browser per scan).
 * The controller reaches it at `endpoint` (GOVHOST_BROWSER_ENDPOINT); the browser reaches the controller's
 * origin proxy on the same loopback. Loopback only: anyone who can connect may start a browser with any
 * arguments (`--unsafe` lets the controller pass its own), so nothing outside the pod may reach it.
 */
const port = 9323;

export const scannerBrowser = {
  containerName: "browser",
  port,
  endpoint: `ws://127.0.0.1:${port}/`,
  /**
   * The container's command (the image's Node and playwright-core, in the image's workdir). Past
   * `maxBrowsers` (above the controller's scan concurrency), connections wait for a browser to end.
   */
  command(maxBrowsers = 4, listenPort: number = port): string[] {
    return [
      "node",
      "node_modules/playwright-core/cli.js",
      "run-server",
      "--host",
      "127.0.0.1",
      "--port",
      String(listenPort),
      "--unsafe",
      "--max-clients",
      String(maxBrowsers),
    ];
  },
};
