import { execFileSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, rmSync, statSync } from "node:fs";
import { dirname, join } from "node:path";

/** A container image made of host files and folders (static binaries, a site), built without a Docker engine. */
export interface ImageSpec {
  /** Tag of the image in its OCI layout, e.g. "1.0.0" (the repository is chosen when it is pushed). */
  tag: string;
  /** Host file or folder -> absolute path in the image. Folders are copied whole. */
  files: Record<string, string>;
  /** Path of a busybox binary in the image whose applets get symlinks in /bin (sh, httpd, nc, ...). */
  busyboxApplets?: string;
  entrypoint?: string[];
  cmd?: string[];
  /** Numeric user (and group) the image runs as by default; the baseline requires non-root pods. */
  user?: number;
  workingDir?: string;
  /** Container ports the image listens on (documentation in the image config, as EXPOSE does). */
  ports?: number[];
  labels?: Record<string, string>;
}

/** An image as an OCI image layout on disk (one tag). */
export interface OciLayout {
  layout: string;
  tag: string;
}

/** Runs an image tool; a failure names the command and ends with the last lines it printed to stderr. */
export function runTool(
  command: string,
  args: string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv } = {},
): void {
  try {
    execFileSync(command, args, { stdio: ["ignore", "ignore", "pipe"], timeout: 20 * 60_000, ...options });
  } catch (error) {
    const stderr = (error as { stderr?: Buffer }).stderr?.toString().trim().split("\n").slice(-5).join("\n");
    throw new Error(`${command} ${args[0] ?? ""} failed: ${stderr || (error as Error).message}`);
  }
}

const run = runTool;

function imageConfigArgs(spec: ImageSpec): string[] {
  return [
    ...(spec.entrypoint ?? []).flatMap((e) => ["--config.entrypoint", e]),
    ...(spec.cmd ?? []).flatMap((c) => ["--config.cmd", c]),
    ...(spec.user === undefined ? [] : ["--config.user", `${spec.user}:${spec.user}`]),
    ...(spec.workingDir ? ["--config.workingdir", spec.workingDir] : []),
    ...(spec.ports ?? []).flatMap((p) => ["--config.exposedports", `${p}/tcp`]),
    ...Object.entries(spec.labels ?? {}).flatMap(([k, v]) => ["--config.label", `${k}=${v}`]),
  ];
}

/** Refuses a spec that would build something other than what it says (checked before anything is written). */
function checkImageSpec(spec: ImageSpec): void {
  if (!/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/.test(spec.tag))
    throw new Error(
      `tag "${spec.tag}" is not valid: letters, digits, _ . - (not first), at most 128, e.g. 1.0.0`,
    );
  for (const [source, target] of Object.entries(spec.files)) {
    if (!target.startsWith("/") || target.split("/").includes(".."))
      throw new Error(`image path ${target} (for ${source}) must be absolute, without "..", e.g. /srv/www`);
    if (!existsSync(source)) throw new Error(`${source} does not exist`);
  }
}

/**
 * Builds the image as an OCI layout with Debian's umoci (one layer, files owned by root and readable by
 * all, so a non-root user can run them): init, unpack an empty image, copy the files in, repack, set the
 * config, garbage-collect. `workDir` is the build's scratch folder; the layout stays in it.
 */
export function buildOciLayout(spec: ImageSpec, workDir: string): OciLayout {
  checkImageSpec(spec);
  const dir = join(workDir, spec.tag);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const layout = join(dir, "layout");
  const bundle = join(dir, "bundle");
  const image = `${layout}:${spec.tag}`;
  run("umoci", ["init", "--layout", layout]);
  run("umoci", ["new", "--image", image]);
  run("umoci", ["unpack", "--image", image, bundle]);
  const rootfs = join(bundle, "rootfs");
  for (const [source, target] of Object.entries(spec.files)) {
    const destination = join(rootfs, target);
    mkdirSync(statSync(source).isDirectory() ? destination : dirname(destination), { recursive: true });
    cpSync(source, destination, { recursive: true, dereference: true });
  }
  if (spec.busyboxApplets) run("chroot", [rootfs, spec.busyboxApplets, "--install", "-s", "/bin"]);
  run("chmod", ["-R", "a+rX,go-w", rootfs]);
  run("umoci", ["repack", "--image", image, bundle]);
  const config = imageConfigArgs(spec);
  if (config.length > 0) run("umoci", ["config", "--image", image, ...config]);
  run("umoci", ["gc", "--layout", layout]);
  rmSync(bundle, { recursive: true, force: true });
  return { layout, tag: spec.tag };
}

/** Packs an OCI layout into a tar archive (what `ctr images import` reads); returns its path. */
export function archiveLayout(image: OciLayout): string {
  const archive = join(dirname(image.layout), `${image.tag}.tar`);
  run("tar", ["-C", image.layout, "-cf", archive, "."]);
  return archive;
}
