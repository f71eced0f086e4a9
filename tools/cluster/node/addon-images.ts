import { createHash } from "node:crypto";
import { existsSync, renameSync, rmSync } from "node:fs";
import { join } from "node:path";
import { buildOciLayout, type ImageSpec, type OciLayout } from "../../image/oci-image.ts";
import { type PushedImage, pushToLocalRegistry } from "../../image/push.ts";
import { govhostCacheDir } from "../../upstream/versions.ts";

// Images of the local cloud's own add-ons (the ingress controller, metrics-server): one static binary each,
// built once per pinned version into the build cache with the image tool, and pushed to the node's registry
// at every start (its storage goes with the cluster).

/** An add-on's image: its one static binary at `path`, run as `user` (the image labels say where it came from). */
export function staticBinaryImage(o: {
  title: string;
  version: string;
  binary: string;
  path: string;
  user: number;
  ports: number[];
}): ImageSpec {
  return {
    tag: o.version,
    files: { [o.binary]: o.path },
    entrypoint: [o.path],
    user: o.user,
    ports: o.ports,
    labels: {
      "org.opencontainers.image.title": `${o.title} ${o.version}, built from its Go module by govhost`,
    },
  };
}

/**
 * The add-on's image as an OCI layout in `~/.cache/govhost/images/<name>-<version>-<spec hash>`, built when
 * missing: a changed spec (where a file goes, the entrypoint, the user) is a new image, not the cached one.
 */
export function cachedAddonLayout(name: string, spec: ImageSpec): OciLayout {
  const specHash = createHash("sha256").update(JSON.stringify(spec)).digest("hex").slice(0, 12);
  const dir = join(govhostCacheDir(), "images", `${name}-${spec.tag}-${specHash}`);
  const layout = { layout: join(dir, spec.tag, "layout"), tag: spec.tag };
  if (existsSync(join(layout.layout, "index.json"))) return layout;
  const scratch = `${dir}.tmp`;
  rmSync(scratch, { recursive: true, force: true });
  buildOciLayout(spec, scratch);
  rmSync(dir, { recursive: true, force: true });
  renameSync(scratch, dir);
  return layout;
}

/** Builds (or reuses) the add-on's image and pushes it; the reference pinned by digest, for its pods. */
export function pushAddonImage(name: string, spec: ImageSpec, pushAddress: string): string {
  const pushed: PushedImage = pushToLocalRegistry(
    cachedAddonLayout(name, spec),
    `govhost/${name}`,
    pushAddress,
  );
  return `${pushed.ref}@${pushed.digest}`;
}
