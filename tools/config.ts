import { isAbsolute } from "node:path";
import Type from "typebox";
import { type Config, loadConfig, Port, type SettingsSpec } from "../lib/config.ts";

// Every GOVHOST_* variable the local tools read (`npm start`, `npm run cluster:*`, `npm run token`, the
// upstream build and the test run's cluster), declared once like the controller's and the API's
// (docs/configuration.md shows this table; a unit test keeps the two equal). `npm start` also reads the
// portal API's variables (portal-api/config.ts) and passes its environment on to the controller, which
// reads its own (controller/config.ts).

const AbsolutePath = Type.Refine(Type.String({ minLength: 1, maxLength: 4096 }), (path) => isAbsolute(path));

export const localToolSettings = {
  stateDir: {
    env: "GOVHOST_STATE_DIR",
    schema: Type.String({ minLength: 1, maxLength: 4096 }),
    description:
      "Where `npm start` keeps the controller's and the API's kubeconfigs, the audit log and the demo images (default: `.govhost/` in the repository); elsewhere than the default, `npm start -- --in-cluster` keeps its own local cloud and stack there too",
    form: "a directory path",
  },
  node: {
    env: "GOVHOST_NODE",
    schema: Type.Union([Type.Literal("auto"), Type.Literal("off")]),
    default: "auto",
    description:
      "`off` brings the local control plane up without a node even where one could run (root, cgroup controllers present)",
    form: "auto or off",
  },
  tmpDir: {
    env: "GOVHOST_TMPDIR",
    schema: AbsolutePath,
    description:
      "Parent directory of the local cloud's working directory (certificates, etcd data, the node's state); default: the system's temporary directory",
    form: "an absolute directory path",
  },
  cache: {
    env: "GOVHOST_CACHE",
    schema: AbsolutePath,
    description:
      "The upstream binaries built from source, their Go module and build caches, and schemathesis's virtualenv (also read by tools/upstream/build.sh); default: `~/.cache/govhost`",
    form: "an absolute directory path",
  },
  oidcPort: {
    env: "GOVHOST_OIDC_PORT",
    schema: Port,
    default: 8082,
    description: "Port of the local OpenID provider that `npm start` runs (and `npm run token` asks)",
    form: "a TCP port, a whole number from 0 to 65535",
  },
  demoSitePort: {
    env: "GOVHOST_DEMO_SITE_PORT",
    schema: Port,
    default: 8083,
    description:
      "Port of the demo e-service's pages served on this machine when there is no node to run them (0: any free port)",
    form: "a TCP port, a whole number from 0 to 65535",
  },
} satisfies SettingsSpec;

export type LocalToolConfig = Config<typeof localToolSettings>;

/** Reads the local tools' settings; throws a ConfigError naming the first variable that is wrong. */
export function loadLocalToolConfig(env: Record<string, string | undefined> = process.env): LocalToolConfig {
  return loadConfig(localToolSettings, env);
}
