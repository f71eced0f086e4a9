import { execFileSync } from "node:child_process";
import { copyFileSync, mkdirSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { ctr } from "./containerd.ts";

/** A container image made of a few host files (static binaries), built without a Docker engine. */
export interface ImageSpec {
  /** Full reference, e.g. govhost.local/pause:catatonit (the tag is the part after the last colon). */
  ref: string;
  /** Host file -> path in the image. */
  files: Record<string, string>;
  /** Path of a busybox binary in the image whose applets get symlinks in /bin (sh, nc, nslookup, ...). */
  busyboxApplets?: string;
  entrypoint?: string[];
  cmd?: string[];
}

function run(command: string, args: string[]): void {
  execFileSync(command, args, { stdio: ["ignore", "ignore", "pipe"] });
}

function splitRef(ref: string): { base: string; tag: string } {
  const at = ref.lastIndexOf(":");
  if (at <= ref.lastIndexOf("/")) throw new Error(`image reference ${ref} has no tag`);
  return { base: ref.slice(0, at), tag: ref.slice(at + 1) };
}

/**
 * Builds the image as an OCI layout with Debian's umoci (one layer) and packs the layout into a tar archive
 * that `ctr images import` reads; returns the archive's path.
 */
export function buildImage(spec: ImageSpec, workDir: string): string {
  const { tag } = splitRef(spec.ref);
  const dir = join(workDir, tag);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const layout = join(dir, "layout");
  const bundle = join(dir, "bundle");
  const image = `${layout}:${tag}`;
  run("umoci", ["init", "--layout", layout]);
  run("umoci", ["new", "--image", image]);
  run("umoci", ["unpack", "--image", image, bundle]);
  const rootfs = join(bundle, "rootfs");
  for (const [source, target] of Object.entries(spec.files)) {
    const destination = join(rootfs, target);
    mkdirSync(dirname(destination), { recursive: true });
    copyFileSync(source, destination);
  }
  if (spec.busyboxApplets) run("chroot", [rootfs, spec.busyboxApplets, "--install", "-s", "/bin"]);
  run("umoci", ["repack", "--image", image, bundle]);
  const config = [
    ...(spec.entrypoint ?? []).flatMap((e) => ["--config.entrypoint", e]),
    ...(spec.cmd ?? []).flatMap((c) => ["--config.cmd", c]),
  ];
  if (config.length > 0) run("umoci", ["config", "--image", image, ...config]);
  run("umoci", ["gc", "--layout", layout]);
  const archive = join(dir, `${tag}.tar`);
  run("tar", ["-C", layout, "-cf", archive, "."]);
  rmSync(bundle, { recursive: true, force: true });
  return archive;
}

/** Imports an archive from buildImage into the node's containerd under `ref`, for the CRI (k8s.io). */
export function importImage(ctrBinary: string, socket: string, archive: string, ref: string): void {
  ctr(ctrBinary, socket, ["images", "import", "--base-name", splitRef(ref).base, archive]);
}

/** Builds and imports in one go. */
export function loadImage(ctrBinary: string, socket: string, spec: ImageSpec, workDir: string): void {
  importImage(ctrBinary, socket, buildImage(spec, workDir), spec.ref);
}
