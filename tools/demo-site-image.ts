import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { demoSitePages, type SiteVersion } from "./demo-site.ts";
import { buildOciLayout } from "./image/oci-image.ts";
import { type PushedImage, pushToLocalRegistry } from "./image/push.ts";

// The demo e-service as a real image: the demo site's pages (tools/demo-site.ts) as static files, served by
// Debian's static busybox `httpd` as user 65532 on port 8080 (the e-service's default port), one tag per
// version. Built with the project's image tool and pushed to the node's registry.

export const demoSiteRepository = "govhost/demo-site";
const busybox = "/bin/busybox";
const siteRoot = "/srv/www";

/** Writes a version's pages as files: `/` is index.html, `/contact` is contact/index.html. */
function writePages(version: SiteVersion, dir: string): void {
  for (const [path, html] of Object.entries(demoSitePages[version])) {
    const folder = join(dir, path);
    mkdirSync(folder, { recursive: true });
    writeFileSync(join(folder, "index.html"), html);
  }
}

/** Builds and pushes the demo site's image for each version; resolves to their references and digests. */
export function pushDemoSiteImages(pushAddress: string, workDir: string): Record<SiteVersion, PushedImage> {
  const push = (version: SiteVersion): PushedImage => {
    const www = join(workDir, `site-${version}`);
    writePages(version, www);
    const image = buildOciLayout(
      {
        tag: version,
        files: { [busybox]: busybox, [www]: siteRoot },
        entrypoint: [busybox, "httpd", "-f", "-v", "-p", "8080", "-h", siteRoot],
        user: 65532,
        ports: [8080],
        labels: { "org.opencontainers.image.title": `govhost demo e-service (${version} pages)` },
      },
      join(workDir, "images"),
    );
    return pushToLocalRegistry(image, demoSiteRepository, pushAddress);
  };
  return { broken: push("broken"), fixed: push("fixed") };
}
