import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { type LocalPaths, loadCloudState } from "../cluster/local.ts";
import { buildOciLayout, type ImageSpec } from "./oci-image.ts";
import { pushToLocalRegistry } from "./push.ts";

const usage = `usage: npm run image -- --name REPOSITORY:TAG --add HOST_PATH:IMAGE_PATH [--add ...]
       [--busybox IMAGE_PATH] [--entrypoint JSON_ARRAY] [--cmd JSON_ARRAY]
       [--user UID] [--workdir PATH] [--port N ...] [--state CLUSTER_JSON]

Builds an image without a Docker engine (umoci) from host files and folders and pushes it (skopeo) to the
local cloud's registry; prints the reference pods use and its digest. Example, a static site served by
busybox httpd as user 65532:
  npm run image -- --name govhost/my-site:1.0.0 --add ./site:/srv/www --add /bin/busybox:/bin/busybox \\
    --busybox /bin/busybox --entrypoint '["httpd","-f","-p","8080","-h","/srv/www"]' --user 65532 --port 8080`;

function fail(message: string): never {
  process.stderr.write(`govhost image: ${message}\n\n${usage}\n`);
  process.exit(2);
}

/** The image spec and repository the arguments describe; exits with the usage on bad input. */
export function specFromArgs(args: string[]): { repository: string; spec: ImageSpec; state?: string } {
  const { values } = parseArgs({
    args,
    options: {
      name: { type: "string" },
      add: { type: "string", multiple: true },
      busybox: { type: "string" },
      entrypoint: { type: "string" },
      cmd: { type: "string" },
      user: { type: "string" },
      workdir: { type: "string" },
      port: { type: "string", multiple: true },
      state: { type: "string" },
    },
    strict: true,
  });
  const name = values.name ?? fail("--name is required, e.g. --name govhost/my-site:1.0.0");
  const colon = name.lastIndexOf(":");
  if (colon <= name.lastIndexOf("/")) fail(`--name ${name} needs a tag, e.g. ${name}:1.0.0`);
  const files: Record<string, string> = {};
  for (const add of values.add ?? []) {
    const at = add.lastIndexOf(":");
    if (at <= 0) fail(`--add ${add} must be HOST_PATH:IMAGE_PATH, e.g. ./site:/srv/www`);
    files[resolve(add.slice(0, at))] = add.slice(at + 1);
  }
  if (Object.keys(files).length === 0) fail("at least one --add HOST_PATH:IMAGE_PATH is required");
  const argv = (flag: string, value: string): string[] => {
    let parsed: unknown;
    try {
      parsed = JSON.parse(value);
    } catch {
      parsed = undefined;
    }
    if (!Array.isArray(parsed) || parsed.length === 0 || !parsed.every((a) => typeof a === "string"))
      fail(`--${flag} ${value} must be a JSON array of strings, e.g. '["httpd","-f"]'`);
    return parsed as string[];
  };
  const number = (flag: string, value: string) =>
    /^\d+$/.test(value) ? Number(value) : fail(`--${flag} ${value} must be a number`);
  return {
    repository: name.slice(0, colon),
    state: values.state,
    spec: {
      tag: name.slice(colon + 1),
      files,
      ...(values.busybox ? { busyboxApplets: values.busybox } : {}),
      ...(values.entrypoint ? { entrypoint: argv("entrypoint", values.entrypoint) } : {}),
      ...(values.cmd ? { cmd: argv("cmd", values.cmd) } : {}),
      ...(values.user ? { user: number("user", values.user) } : {}),
      ...(values.workdir ? { workingDir: values.workdir } : {}),
      ...(values.port ? { ports: values.port.map((p) => number("port", p)) } : {}),
    },
  };
}

function main(): void {
  let parsed: ReturnType<typeof specFromArgs>;
  try {
    parsed = specFromArgs(process.argv.slice(2));
  } catch (error) {
    fail((error as Error).message);
  }
  const paths: LocalPaths | undefined = parsed.state
    ? { state: parsed.state, kubeconfig: `${parsed.state}.kubeconfig` }
    : undefined;
  const node = loadCloudState(paths)?.node;
  if (!node) fail("no local cloud with a node is running here; start one with: npm run cluster:up");
  const work = mkdtempSync(join(tmpdir(), "govhost-image-"));
  try {
    const pushed = pushToLocalRegistry(
      buildOciLayout(parsed.spec, work),
      parsed.repository,
      node.registry.pushAddress,
    );
    process.stdout.write(`${pushed.ref}\n${pushed.digest}\n`);
  } catch (error) {
    process.stderr.write(`govhost image: ${(error as Error).message}\n`);
    process.exitCode = 1;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

if (import.meta.main) main();
