import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import {
  chmodSync,
  copyFileSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
} from "node:fs";
import { delimiter, dirname, join } from "node:path";
import { govhostCacheDir } from "../upstream/versions.ts";
import { ensureDebianBaseLayout } from "./debian-rootfs.ts";
import { govhostImageSpec as spec } from "./govhost-image-spec.ts";
import { type OciLayout, runTool as run } from "./oci-image.ts";

// The govhost image without a Docker engine: three layers (Debian with Chromium from mmdebstrap, the Node
// binary the project runs on, the app with its production dependencies) stacked by umoci into an OCI
// layout, cached under the content hash of everything that goes in.

export interface BuiltGovhostImage extends OciLayout {
  /** sha256 over the inputs (spec, Node binary, sources, lock file); the tag ends with its first 12 digits. */
  contentHash: string;
  cached: boolean;
}

const imagePath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

function filesUnder(path: string): string[] {
  if (!statSync(path).isDirectory()) return [path];
  return readdirSync(path, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name))
    .sort();
}

/** The content hash: the spec, the Node binary, and every file the image copies from the project. */
export function govhostImageContentHash(projectRoot: string, nodeBinary: string): string {
  const hash = createHash("sha256").update(JSON.stringify(spec));
  hash.update(readFileSync(nodeBinary));
  for (const copy of spec.copies) {
    for (const file of filesUnder(join(projectRoot, copy))) {
      hash.update(file.slice(projectRoot.length)).update("\0").update(readFileSync(file));
    }
  }
  return hash.digest("hex");
}

/** A layer archive of `root`'s contents, owned by root, readable by all, with fixed times (same input, same bytes). */
function layerArchive(root: string, archive: string): string {
  run("chmod", ["-R", "a+rX,go-w", root]);
  run("tar", [
    "--sort=name",
    "--owner=0",
    "--group=0",
    "--numeric-owner",
    "--mtime=@0",
    "-C",
    root,
    "-cf",
    archive,
    ".",
  ]);
  return archive;
}

function nodeLayer(work: string, nodeBinary: string): string {
  const root = join(work, "node-root");
  const target = join(root, spec.nodePath);
  mkdirSync(dirname(target), { recursive: true });
  copyFileSync(nodeBinary, target);
  chmodSync(target, 0o755);
  return layerArchive(root, join(work, "node.tar"));
}

function appLayer(work: string, projectRoot: string, nodeBinary: string): string {
  const root = join(work, "app-root");
  const app = join(root, spec.workdir);
  mkdirSync(app, { recursive: true });
  for (const copy of spec.copies) cpSync(join(projectRoot, copy), join(app, copy), { recursive: true });
  // npm runs on the image's own Node (first on PATH), as the Dockerfile's `RUN npm ci` does.
  run("npm", [...spec.npmInstall, "--no-audit", "--no-fund", "--prefer-offline"], {
    cwd: app,
    env: { ...process.env, PATH: `${dirname(nodeBinary)}${delimiter}${process.env.PATH ?? ""}` },
  });
  return layerArchive(root, join(work, "app.tar"));
}

function configArgs(contentHash: string): string[] {
  const env = { PATH: imagePath, ...spec.env };
  return [
    "--config.user",
    `${spec.user.uid}:${spec.user.gid}`,
    "--config.workingdir",
    spec.workdir,
    ...Object.entries(env).flatMap(([k, v]) => ["--config.env", `${k}=${v}`]),
    ...spec.cmd.flatMap((c) => ["--config.cmd", c]),
    ...spec.ports.flatMap((p) => ["--config.exposedports", `${p}/tcp`]),
    "--config.label",
    "org.opencontainers.image.title=govhost",
    "--config.label",
    `io.govhost.content-hash=${contentHash}`,
  ];
}

/** Each source change builds a new image (about 400 MB): keep the one just built and the one before it. */
function pruneOlderImages(cacheDir: string, keep: string, progress: (line: string) => void): void {
  const older = readdirSync(cacheDir)
    .filter((name) => /^govhost-[0-9a-f]{16}$/.test(name) && join(cacheDir, name) !== keep)
    .map((name) => ({ path: join(cacheDir, name), modified: statSync(join(cacheDir, name)).mtimeMs }))
    .sort((a, b) => b.modified - a.modified)
    .slice(1);
  for (const { path } of older) {
    rmSync(path, { recursive: true, force: true });
    progress(`removed an older govhost image (${path})`);
  }
}

/**
 * The govhost image as an OCI layout under `cacheDir`, built when no image with the same content hash is
 * there. `progress` gets one line per step (the Debian layer takes about 80 s cold, the whole build a few
 * minutes; a cached image returns at once).
 */
export function buildGovhostImage(options: {
  projectRoot: string;
  progress: (line: string) => void;
  /** Default: ~/.cache/govhost/images. */
  cacheDir?: string;
  nodeBinary?: string;
}): BuiltGovhostImage {
  const { projectRoot, progress } = options;
  const cacheDir = options.cacheDir ?? join(govhostCacheDir(), "images");
  const { version } = JSON.parse(readFileSync(join(projectRoot, "package.json"), "utf8")) as {
    version: string;
  };
  const nodeBinary = options.nodeBinary ?? process.execPath;
  const nodeMajor = Number(
    execFileSync(nodeBinary, ["-p", "process.versions.node.split('.')[0]"]).toString().trim(),
  );
  if (nodeMajor !== spec.nodeMajor)
    throw new Error(
      `${nodeBinary} is Node ${nodeMajor}, the image needs Node ${spec.nodeMajor}: run through npm (npm run image:govhost), which puts the project's Node first`,
    );
  const contentHash = govhostImageContentHash(projectRoot, nodeBinary);
  const tag = `${version}-${contentHash.slice(0, 12)}`;
  const dir = join(cacheDir, `govhost-${contentHash.slice(0, 16)}`);
  const layout = join(dir, "layout");
  if (existsSync(join(layout, "index.json"))) {
    progress(`govhost image ${tag}: cached (${layout})`);
    return { layout, tag, contentHash, cached: true };
  }
  const started = Date.now();
  const step = (line: string) => progress(`[${((Date.now() - started) / 1000).toFixed(0)}s] ${line}`);
  const base = ensureDebianBaseLayout(
    { suite: spec.debianSuite, packages: spec.packages, user: spec.user },
    cacheDir,
    step,
  );
  mkdirSync(cacheDir, { recursive: true });
  const work = mkdtempSync(join(cacheDir, "govhost-build-"));
  try {
    step(`Node ${process.versions.node} at ${spec.nodePath}`);
    const node = nodeLayer(work, nodeBinary);
    step(`the app in ${spec.workdir} (${spec.copies.join(", ")}) and npm ${spec.npmInstall.join(" ")}`);
    const app = appLayer(work, projectRoot, nodeBinary);
    // On top of the cached Debian layer (its blobs are content-addressed and never rewritten, so a copy of
    // the layout is a safe start).
    const partialLayout = join(work, "layout");
    cpSync(base.layout, partialLayout, { recursive: true });
    const image = `${partialLayout}:${tag}`;
    step(`layer: Node ${process.versions.node}`);
    run("umoci", [
      "raw",
      "add-layer",
      "--history.created_by",
      `Node ${process.versions.node}`,
      "--image",
      `${partialLayout}:${base.tag}`,
      "--tag",
      tag,
      node,
    ]);
    step("layer: govhost");
    run("umoci", ["raw", "add-layer", "--history.created_by", "govhost", "--image", image, app]);
    run("umoci", ["rm", "--image", `${partialLayout}:${base.tag}`]);
    run("umoci", ["config", "--image", image, ...configArgs(contentHash)]);
    run("umoci", ["gc", "--layout", partialLayout]);
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    renameSync(partialLayout, layout);
    step(`govhost image ${tag}: built (${layout})`);
    pruneOlderImages(cacheDir, dir, step);
    return { layout, tag, contentHash, cached: false };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
