import { spawnSync } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { projectRoot } from "../lib/local-state.ts";

// `npm run bench -- <name> [args]`: runs tests/bench/<name>.ts, which prints its own figures.
const benchDir = join(projectRoot, "tests", "bench");
const [name, ...args] = process.argv.slice(2);
const available = readdirSync(benchDir)
  .filter((f) => f.endsWith(".ts") && !f.startsWith("_"))
  .map((f) => f.replace(/\.ts$/, ""));
if (!name || !available.includes(name)) {
  process.stderr.write(`usage: npm run bench -- <name> [args]\navailable: ${available.join(", ")}\n`);
  process.exit(2);
}
const script = join(benchDir, `${name}.ts`);
if (!existsSync(script)) process.exit(2);
const result = spawnSync(process.execPath, ["--expose-gc", script, ...args], { stdio: "inherit" });
process.exit(result.status ?? 1);
