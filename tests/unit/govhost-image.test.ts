import { existsSync, readFileSync } from "node:fs";
import { builtinModules } from "node:module";
import { dirname, join, relative, resolve } from "node:path";
import ts from "typescript";
import { describe, expect, it } from "vitest";
import { govhostImageEntryPoints, govhostImageSpec as spec } from "../../tools/image/govhost-image-spec.ts";

// The Dockerfile (for machines with a Docker engine) and `npm run image:govhost` (tools/image, for machines
// without one) must build the same image: same base, packages, files, dependencies, user and command. And
// what the image runs must only need what it copies and what `npm ci --omit=dev` installs.

const root = resolve(import.meta.dirname, "../..");

/** The Dockerfile's instructions (continuation lines joined, comments dropped). */
function dockerfile(): { instruction: string; args: string }[] {
  return readFileSync(join(root, "Dockerfile"), "utf8")
    .replace(/\\\n/g, " ")
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith("#"))
    .map((line) => {
      const [instruction = "", ...rest] = line.split(/\s+/);
      return { instruction: instruction.toUpperCase(), args: rest.join(" ") };
    });
}

const all = (instruction: string) =>
  dockerfile()
    .filter((d) => d.instruction === instruction)
    .map((d) => d.args);

describe("the Dockerfile and npm run image:govhost", () => {
  it("start from the same Debian release and Node major", () => {
    expect(all("FROM")).toEqual([`node:${spec.nodeMajor}-${spec.debianSuite}-slim`]);
  });

  it("install the same Debian packages, without recommends", () => {
    const installs = all("RUN").flatMap((run) => {
      const match = /apt-get install -y --no-install-recommends ([^&]+)/.exec(run);
      return match?.[1] ? match[1].trim().split(/\s+/) : [];
    });
    expect(installs).toEqual([...spec.packages]);
  });

  it("copy the same files into the same working folder and install dependencies the same way", () => {
    expect(all("WORKDIR")).toEqual([spec.workdir]);
    const copied = all("COPY").flatMap((args) => args.split(/\s+/).slice(0, -1));
    expect(copied).toEqual([...spec.copies]);
    expect(all("RUN").some((run) => run.includes(`npm ${spec.npmInstall.join(" ")}`))).toBe(true);
  });

  it("set the same environment, user, ports and command", () => {
    const env = Object.fromEntries(
      all("ENV").flatMap((args) => args.split(/\s+/).map((pair) => pair.split("=") as [string, string])),
    );
    expect(env).toEqual(spec.env);
    expect(all("USER")).toEqual([`${spec.user.uid}:${spec.user.gid}`]);
    expect(all("EXPOSE").flatMap((args) => args.split(/\s+/).map(Number))).toEqual([...spec.ports]);
    expect(all("CMD").map((args) => JSON.parse(args))).toEqual([[...spec.cmd]]);
  });

  it("run as the base image's non-root user", () => {
    expect(spec.user).toEqual({ name: "node", uid: 1000, gid: 1000 });
  });
});

function localAndPackageImports(file: string): { local: string[]; packages: string[] } {
  const { importedFiles } = ts.preProcessFile(readFileSync(file, "utf8"), true, true);
  const names = importedFiles.map((imported) => imported.fileName);
  return {
    local: names.filter((name) => name.startsWith(".")).map((name) => resolve(dirname(file), name)),
    packages: names
      .filter((name) => !name.startsWith(".") && !name.startsWith("node:") && !builtinModules.includes(name))
      .map((name) =>
        (name.startsWith("@") ? name.split("/").slice(0, 2) : name.split("/").slice(0, 1)).join("/"),
      ),
  };
}

/** Every project file and npm package the entry points load, following imports from file to file. */
function importClosure(): { files: Set<string>; packages: Set<string> } {
  const files = new Set<string>();
  const packages = new Set<string>();
  const queue = govhostImageEntryPoints.map((entry) => join(root, entry));
  for (let file = queue.pop(); file; file = queue.pop()) {
    if (files.has(file)) continue;
    files.add(file);
    const imports = localAndPackageImports(file);
    for (const name of imports.packages) packages.add(name);
    queue.push(...imports.local.filter((path) => path.endsWith(".ts")));
  }
  return { files, packages };
}

describe("what the image runs", () => {
  const { files, packages } = importClosure();

  it("imports only files the image copies", () => {
    const outside = [...files]
      .map((file) => relative(root, file))
      .filter((file) => !spec.copies.some((copy) => file === copy || file.startsWith(`${copy}/`)));
    expect(files.size).toBeGreaterThan(50);
    expect(outside).toEqual([]);
    for (const file of files) expect(existsSync(file)).toBe(true);
  });

  it("imports only packages that npm ci --omit=dev installs", () => {
    const manifest = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as {
      dependencies: Record<string, string>;
    };
    const notInstalled = [...packages].filter((name) => !(name in manifest.dependencies));
    expect(packages.size).toBeGreaterThan(3);
    expect(notInstalled).toEqual([]);
  });
});
