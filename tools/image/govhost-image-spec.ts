// What the govhost image contains, in one place: the Dockerfile (for machines with a Docker engine) and
// `npm run image:govhost` (for machines without one) both build it, and tests/unit/govhost-image.test.ts
// checks the Dockerfile says the same as this.

import { controllerNodeFlags } from "../../controller/api/defaults.ts";

export const govhostImageSpec = {
  /** The Dockerfile's base is node:<nodeMajor>-<debianSuite>-slim; here: Debian's root file system plus Node. */
  debianSuite: "bookworm",
  nodeMajor: 24,
  /** Where the official node images put the binary (on PATH). */
  nodePath: "/usr/local/bin/node",
  /** The official node images' user: uid and gid 1000, home /home/node. */
  user: { name: "node", uid: 1000, gid: 1000 },
  /** Debian packages installed on top of the base (no recommends). */
  packages: ["chromium"],
  workdir: "/app",
  /** Copied from the project into the workdir, in this order (folders whole). */
  copies: ["package.json", "package-lock.json", "controller", "lib", "policies", "portal-api"],
  /** How the runtime dependencies are installed in the workdir (no install scripts: nothing here needs one). */
  npmInstall: ["ci", "--omit=dev", "--ignore-scripts"],
  env: { NODE_ENV: "production", GOVHOST_CHROMIUM: "/usr/bin/chromium" },
  /** The controller's health and metrics, the portal API, the controller's API-gateway check. */
  ports: [8080, 8081, 8082],
  /** The controller by default; the portal API is `node portal-api/main.ts`. */
  cmd: ["node", ...controllerNodeFlags, "controller/main.ts"],
} as const;

/** The program entry points the image runs (each must only import what `copies` brings). */
export const govhostImageEntryPoints = ["controller/main.ts", "portal-api/main.ts"] as const;
