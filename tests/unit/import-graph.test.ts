import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import ts from "typescript";
import { describe, expect, it } from "vitest";

// The dependency direction of DESIGN.md, read from the real import graph: a new import that breaks it
// fails here, naming the file and what it imported.

const root = resolve(import.meta.dirname, "../..");

/** Which top-level folders (or sub-folders) each folder may import besides itself. */
const allowed: Record<string, string[]> = {
  "controller/": ["controller/", "lib/", "policies/"],
  "portal-api/": ["portal-api/", "controller/api/", "policies/", "lib/"],
  "infra/": ["infra/", "controller/api/", "policies/", "lib/"],
  "lib/": ["lib/", "controller/api/", "policies/"],
  "policies/": ["policies/", "controller/api/", "lib/"],
};

function sources(folder: string): string[] {
  return readdirSync(join(root, folder), { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith(".ts"))
    .map((entry) => relative(root, join(entry.parentPath, entry.name)));
}

function localImports(file: string): string[] {
  const { importedFiles } = ts.preProcessFile(readFileSync(join(root, file), "utf8"), true, true);
  return importedFiles
    .map((imported) => imported.fileName)
    .filter((name) => name.startsWith("."))
    .map((name) => relative(root, resolve(root, dirname(file), name)));
}

function violations(folder: string): string[] {
  const may = allowed[folder] ?? [];
  return sources(folder).flatMap((file) =>
    localImports(file)
      .filter((target) => !may.some((prefix) => target.startsWith(prefix)))
      .map((target) => `${file} imports ${target}`),
  );
}

describe("dependency direction", () => {
  for (const folder of Object.keys(allowed)) {
    it(`${folder} imports only ${allowed[folder]?.join(", ")}`, () => {
      expect(sources(folder).length).toBeGreaterThan(0);
      expect(violations(folder)).toEqual([]);
    });
  }

  it("nothing but tools/ (entry points) and tests import tools/ or portal-api/", () => {
    const importers = ["controller/", "infra/", "lib/", "policies/"].flatMap((folder) =>
      sources(folder).flatMap((file) =>
        localImports(file)
          .filter((target) => target.startsWith("tools/") || target.startsWith("portal-api/"))
          .map((target) => `${file} imports ${target}`),
      ),
    );
    expect(importers).toEqual([]);
  });

  it("sees a violation when there is one", () => {
    // The checker itself: a known cross-folder import is found.
    expect(localImports("tools/pulumi.ts")).toContain("infra/program.ts");
  });
});

describe("docs/architecture.md", () => {
  it("shows the status ownership of controller/api/conditions.ts as it is", async () => {
    const { statusOwnershipTable } = await import("../../controller/api/status-table.ts");
    const docs = readFileSync(join(root, "docs/architecture.md"), "utf8");
    expect(docs).toContain(statusOwnershipTable());
  });
});
