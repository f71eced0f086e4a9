import { readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import ts from "typescript";
import { describe, expect, it } from "vitest";

// The runtime stays readable: no function in the manager, the runtime or the Kubernetes library is longer
// than about a screen (issue 16's bar: ~80 lines).

const root = resolve(import.meta.dirname, "../..");
const maxLines = 80;

/** Functions over maxLines in `files` (paths from the project root). */
function longFunctions(files: string[]): string[] {
  const long: string[] = [];
  for (const path of files) {
    const source = ts.createSourceFile(
      path,
      readFileSync(join(root, path), "utf8"),
      ts.ScriptTarget.Latest,
      true,
    );
    const visit = (node: ts.Node) => {
      if (ts.isFunctionLike(node) && "body" in node && node.body) {
        const first = source.getLineAndCharacterOfPosition(node.getStart()).line;
        const last = source.getLineAndCharacterOfPosition(node.getEnd()).line;
        if (last - first + 1 > maxLines) long.push(`${path}:${first + 1} (${last - first + 1} lines)`);
      }
      ts.forEachChild(node, visit);
    };
    visit(source);
  }
  return long;
}

describe("code shape", () => {
  const tsFiles = (folder: string) =>
    readdirSync(join(root, folder))
      .filter((n) => n.endsWith(".ts"))
      .map((n) => join(folder, n));
  for (const folder of ["controller/runtime", "lib/kube"]) {
    it(`${folder} has no function over ${maxLines} lines`, () => {
      expect(longFunctions(tsFiles(folder))).toEqual([]);
    });
  }
  it(`the controller's main.ts has no function over ${maxLines} lines`, () => {
    expect(longFunctions(["controller/main.ts"])).toEqual([]);
  });
});
