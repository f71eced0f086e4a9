import { createHash } from "node:crypto";
import { existsSync, mkdirSync, renameSync, rmSync } from "node:fs";
import { join } from "node:path";
import { runTool as run } from "./oci-image.ts";

/** A Debian root file system as one uncompressed layer archive, built by Debian's mmdebstrap. */
export interface DebianRootfsSpec {
  suite: string;
  /** Installed on top of the minimal base, without recommends. */
  packages: readonly string[];
  /** A user the image runs as (created with its home folder). */
  user: { name: string; uid: number; gid: number };
}

const mirror = "http://deb.debian.org/debian";
const securityMirror = "http://deb.debian.org/debian-security";

/** What debian:<suite>-slim leaves out (manuals, docs but their copyright, translations), which the node images build on. */
const slimDpkgOptions = [
  "path-exclude=/usr/share/man/*",
  "path-exclude=/usr/share/doc/*",
  "path-include=/usr/share/doc/*/copyright",
  "path-exclude=/usr/share/locale/*",
  "path-exclude=/usr/share/info/*",
];

function mmdebstrapArgs(spec: DebianRootfsSpec, archive: string): string[] {
  const { name, uid, gid } = spec.user;
  return [
    "--variant=minbase",
    `--include=${["ca-certificates", ...spec.packages].join(",")}`,
    ...slimDpkgOptions.map((option) => `--dpkgopt=${option}`),
    '--aptopt=Acquire::Languages "none"',
    `--customize-hook=chroot "$1" groupadd --gid ${gid} ${name}`,
    `--customize-hook=chroot "$1" useradd --uid ${uid} --gid ${gid} --shell /bin/bash --create-home ${name}`,
    spec.suite,
    archive,
    // The release, its updates and its security updates, as the Debian images have them.
    `deb ${mirror} ${spec.suite} main`,
    `deb ${mirror} ${spec.suite}-updates main`,
    `deb ${securityMirror} ${spec.suite}-security main`,
  ];
}

/** Names the archive by everything that decides its content, so a changed package list builds a new one. */
export function debianRootfsKey(spec: DebianRootfsSpec): string {
  const inputs = JSON.stringify(mmdebstrapArgs(spec, "-"));
  return `debian-${spec.suite}-${createHash("sha256").update(inputs).digest("hex").slice(0, 16)}`;
}

/**
 * An OCI layout in `cacheDir` whose image `base` is the root file system as one layer, built with mmdebstrap
 * when it is not there yet (about 80 s for the file system, 30 s to compress it, 320 MB with Chromium). The
 * packages are whatever the mirrors serve on the day it is built: delete the layout to take newer security
 * updates.
 */
export function ensureDebianBaseLayout(
  spec: DebianRootfsSpec,
  cacheDir: string,
  progress: (line: string) => void,
): { layout: string; tag: string } {
  const key = debianRootfsKey(spec);
  const layout = join(cacheDir, `${key}-layout`);
  const tag = "base";
  if (existsSync(join(layout, "index.json"))) {
    progress(`Debian ${spec.suite} with ${spec.packages.join(", ")}: cached (${layout})`);
    return { layout, tag };
  }
  mkdirSync(cacheDir, { recursive: true });
  const archive = join(cacheDir, `${key}.tar.partial`);
  const partialLayout = `${layout}.partial`;
  rmSync(archive, { force: true });
  rmSync(partialLayout, { recursive: true, force: true });
  progress(
    `Debian ${spec.suite} with ${spec.packages.join(", ")}: building the root file system with mmdebstrap`,
  );
  try {
    run("mmdebstrap", ["--quiet", "--format=tar", ...mmdebstrapArgs(spec, archive)]);
    progress(`Debian ${spec.suite}: compressing it into a layer`);
    run("umoci", ["init", "--layout", partialLayout]);
    run("umoci", ["new", "--image", `${partialLayout}:${tag}`]);
    const history = `mmdebstrap ${spec.suite} minbase + ${spec.packages.join(" ")}`;
    run("umoci", [
      "raw",
      "add-layer",
      "--history.created_by",
      history,
      "--image",
      `${partialLayout}:${tag}`,
      archive,
    ]);
    renameSync(partialLayout, layout);
    return { layout, tag };
  } finally {
    rmSync(archive, { force: true });
    rmSync(partialLayout, { recursive: true, force: true });
  }
}
