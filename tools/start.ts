import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { loadControllerConfig } from "../controller/config.ts";
import { ConfigError, loadConfig } from "../lib/config.ts";
import { localKubeconfig, projectRoot } from "../lib/local-state.ts";
import { type PortalApiSettings, startPortalApi } from "../portal-api/app.ts";
import { type PortalApiConfig, portalApiSettings, startSettings } from "../portal-api/config.ts";
import { kubeConfigFrom } from "./cluster/credentials.ts";
import { ensureLocalControlPlane, stopLocalControlPlane } from "./cluster/local.ts";
import { nodeDnsControllerEnv } from "./cluster/node/dns.ts";
import { localIngress, nodeApiGatewayControllerEnv } from "./cluster/node/ingress.ts";
import type { NodeState } from "./cluster/node/state.ts";
import { localToolSettings } from "./config.ts";
import { spawnController } from "./controller-process.ts";
import { demoDepartments } from "./demo-data.ts";
import { seedDemo } from "./demo-seed.ts";
import { startFixtureSite } from "./demo-site.ts";
import { pushDemoSiteImages } from "./demo-site-image.ts";
import { localStackBaseline, preparePlatform } from "./install-platform.ts";
import { startLocalProvider } from "./oidc/provider.ts";
import { apiClient, demoUsers, webClient } from "./oidc/users.ts";
import { startInCluster } from "./start-in-cluster.ts";

// `npm start`: the main job on the embedded default. With KUBECONFIG set it uses that cluster; otherwise it
// starts (or reuses) the local control plane. Then it installs the platform, seeds the demo departments
// (local control plane only) and runs the controller until Ctrl-C.
const say = (message: string) => process.stdout.write(`govhost: ${message}\n`);

/** Each journey of the web pages, where it starts and the demo user to sign in as. */
const webJourneys: [journey: string, path: string, user: string][] = [
  ["department IT: e-services, subscriptions", "/my", "immd-admin (lcsd-admin: the other one)"],
  ["developer", "/my", "immd-dev"],
  ["finance: costs, statements, rate card", "/costs", "finance"],
  ["records manager: legal holds", "/departments/immd/environments/prod/shared-services", "records"],
  ["operator: departments, create one", "/my", "operator"],
  ["auditor: the audit log", "/audit", "auditor"],
];

// What `npm start` reads: the local tools' settings and the portal API's, except that the issuer defaults to
// the local OpenID provider and the audit log to the state directory.
const { default: _apiAuditLog, ...auditLogInStateDir } = portalApiSettings.auditLog;
const startSettingsSpec = {
  ...localToolSettings,
  ...portalApiSettings,
  issuer: { ...portalApiSettings.issuer, required: false },
  auditLog: auditLogInStateDir,
};

/**
 * Everything `npm start` started, stopped in reverse order: on Ctrl-C, when the controller exits, and when
 * any step of the start fails (so a failed start never leaves a controller, provider or site running).
 */
class Started {
  private readonly stops: { what: string; stop: () => Promise<unknown> }[] = [];
  private stopping: Promise<void> | undefined;

  add(what: string, stop: () => Promise<unknown>): void {
    // Started while everything stops (Ctrl-C during a start step): stop it at once (a child process gets
    // its signal before this returns, so it never outlives npm start).
    if (this.stopping) void stop().catch(() => {});
    else this.stops.push({ what, stop });
  }

  get isStopping(): boolean {
    return this.stopping !== undefined;
  }

  stopAll(): Promise<void> {
    this.stopping ??= (async () => {
      for (let next = this.stops.pop(); next; next = this.stops.pop()) {
        const { what, stop } = next;
        try {
          await stop();
        } catch (error) {
          process.stderr.write(
            `govhost: could not stop ${what}: ${error instanceof Error ? error.message : String(error)}\n`,
          );
        }
      }
    })();
    return this.stopping;
  }
}

const started = new Started();

async function main(): Promise<void> {
  const stopAndExit = (code: number) => () => void started.stopAll().then(() => process.exit(code));
  // Installed first: Ctrl-C during the start stops whatever has started so far.
  process.once("SIGINT", stopAndExit(0));
  process.once("SIGTERM", stopAndExit(0));

  // `--in-cluster`: the platform as pods from its image (tools/start-in-cluster.ts); default: host processes.
  const { values: flags } = parseArgs({ options: { "in-cluster": { type: "boolean", default: false } } });
  const inCluster = flags["in-cluster"];
  // Every setting is checked before anything starts; the controller's too (it runs as a child process).
  const config = loadConfig(startSettingsSpec, process.env);
  const controllerConfig = loadControllerConfig(process.env);
  const external = process.env.KUBECONFIG;
  let node: NodeState | undefined;
  /** The local cluster's CA (it signed the ingress's certificate), for the walkthrough's curl. */
  let clusterCa: string | undefined;
  // Where the generated kubeconfigs and the audit log live (default .govhost/ in the repository).
  const stateDir = config.stateDir ?? join(projectRoot, ".govhost");
  if (inCluster) {
    await startInCluster({
      stateDir,
      oidcPort: config.oidcPort,
      audience: config.audience,
      say,
      onStop: (what, stop) => started.add(what, stop),
    });
    return;
  }
  if (external) {
    say(`using the cluster in KUBECONFIG=${external}`);
  } else {
    say(
      "no KUBECONFIG given: using the local control plane (the first run builds it from source, see README)",
    );
    const { state, startedHere } = await ensureLocalControlPlane((m) => say(`  ${m}`));
    if (startedHere)
      started.add("the local control plane", async () => {
        say("stopping the local control plane it started");
        const stopped = await stopLocalControlPlane((m) => say(`  ${m}`));
        for (const problem of stopped?.problems ?? []) say(`  could not undo: ${problem}`);
      });
    say(`local control plane ${startedHere ? "started" : "reused"}: ${state.version} at ${state.server}`);
    node = state.node;
    clusterCa = state.pki.caCert;
    say(
      state.node
        ? `node ${state.node.name} Ready at ${state.server.replace(/:\d+$/, "").replace("https://", "")}`
        : `no node: ${state.nodeAbsent}`,
    );
  }
  const kubeconfig = external ?? localKubeconfig;

  say("installing the platform (CRDs, namespaces, RBAC)");
  const controllerKubeconfig = join(stateDir, "controller.kubeconfig");
  const portalApiKubeconfig = join(stateDir, "portal-api.kubeconfig");
  await preparePlatform(
    kubeconfig,
    controllerKubeconfig,
    portalApiKubeconfig,
    external ? {} : { baseline: localStackBaseline },
  );
  // The demo e-service's pages: on a node, images in its registry; without one no pod runs, so the demo
  // site is served on this machine and the scanner reaches it through a previewUrl.
  const demoImages = node
    ? pushDemoSiteImages(node.registry.pushAddress, join(stateDir, "demo-images"))
    : undefined;
  if (demoImages)
    say(`pushed the demo e-service's images: ${demoImages.broken.ref}, ${demoImages.fixed.ref}`);
  const site = external || node ? undefined : await startFixtureSite("broken", config.demoSitePort);
  if (site) started.add("the demo site", () => site.close());
  const siteBase = site?.url.replace(/\/site$/, "");
  const demo = demoImages
    ? { pages: { image: demoImages.broken.ref }, from: `the image ${demoImages.broken.ref}` }
    : siteBase
      ? {
          pages: { image: "registry.gov.example/immd/visa-status:1.0.0", previewUrl: `${siteBase}/broken` },
          from: `pages served by ${siteBase}`,
        }
      : undefined;
  const controller = await spawnController({
    kubeconfig: controllerKubeconfig,
    inheritOutput: true,
    env: {
      GOVHOST_CONTROLLER_PORT: String(controllerConfig.port),
      // On the node, cluster DNS is a host process that tenant pods' DNS policy must allow.
      ...(node ? { ...nodeDnsControllerEnv, ...nodeApiGatewayControllerEnv } : {}),
      // The scanner may reach exactly the demo site's host and port.
      ...(site ? { GOVHOST_A11Y_PREVIEW_HOSTS: new URL(site.url).host } : {}),
    },
  });
  started.add(`the controller (pid ${controller.process.pid})`, () => controller.stop());
  controller.process.once("exit", (code) => {
    if (!started.isStopping) {
      say(`the controller exited (code ${code}); stopping`);
      stopAndExit(1)();
    }
  });
  if (demo) {
    await seedDemo(kubeconfig, demo.pages, say);
    say(`seeded demo e-service immd-prod/visa-status (${demo.from})`);
  }
  say(
    `controller running (service account govhost-system/govhost-controller, pid ${controller.process.pid}), metrics http://127.0.0.1:${controller.port}/metrics`,
  );
  // With the local provider, people sign in to the web pages as the demo users (a session key per run).
  const webUrl = `http://127.0.0.1:${config.port}`;
  const identity = external
    ? undefined
    : await startLocalProvider({
        port: config.oidcPort,
        audience: config.audience,
        webRedirectUris: [`${webUrl}/auth/callback`],
      });
  if (identity) started.add("the local OpenID provider", () => identity.close());
  const issuer = identity?.issuer ?? config.issuer;
  const api = issuer
    ? await startPortalApi(
        portalApiStartSettings(
          { ...config, issuer, auditLog: config.auditLog ?? join(stateDir, "audit.log") },
          portalApiKubeconfig,
          identity ? webUrl : undefined,
        ),
      )
    : undefined;
  if (api) started.add("the portal API", () => api.close());
  if (api) {
    say(
      `portal API ${api.url}/api/v1 (OpenAPI ${api.url}/openapi.json, docs ${api.url}/docs), tokens from ${issuer}`,
    );
    say(`public e-service catalogue (web pages, no sign-in): ${api.url}/  (繁體中文: ${api.url}/zh-Hant)`);
    if (identity) {
      say("web pages behind sign-in (the local provider takes any password):");
      for (const [journey, path, user] of webJourneys)
        say(`  ${journey.padEnd(42)} ${api.url}${path}  as ${user}`);
    }
  } else
    say(
      "portal API not started: set GOVHOST_OIDC_ISSUER to your OpenID provider to run it against this cluster",
    );
  say(`try it:  export KUBECONFIG=${kubeconfig}`);
  say("         kubectl get departments");
  say("         kubectl get namespaces -l govhost.io/department=immd");
  say(
    "         kubectl --as alice --as-group immd-developers -n immd-dev get pods      # a department developer",
  );
  say(
    "         kubectl --as alice --as-group immd-developers -n lcsd-dev get pods      # ...is refused elsewhere",
  );
  if (demo) {
    say(
      "         kubectl -n immd-prod get eservices                                  # not exposed: WCAG failures",
    );
    say("         kubectl -n immd-prod get eservice visa-status -o jsonpath='{.status.conditions}'");
    if (demoImages) {
      say(
        "         kubectl -n immd-prod get pods -o wide                               # its pods run on the node",
      );
      say(
        `         kubectl --as ada --as-group immd-admins -n immd-prod patch eservice visa-status --type merge -p '{"spec":{"image":"${demoImages.fixed.ref}"}}'`,
      );
    } else
      say(
        `         kubectl --as a11y-approver --as-group govhost:accessibility-approvers -n immd-prod patch eservice visa-status --type merge -p '{"spec":{"accessibility":{"previewUrl":"${siteBase}/fixed"}}}'`,
      );
    say(
      "         kubectl -n immd-prod get ingress                                    # published once it passes",
    );
    if (demoImages && clusterCa) {
      const host = `visa-status.${demoDepartments[0]?.spec.domains?.[0]}`;
      say(
        `         curl --cacert ${clusterCa} --resolve ${host}:${localIngress.httpsPort}:${localIngress.address} https://${host}/   # as a citizen, through the ingress: 404 until published`,
      );
    }
  }
  if (api && identity) {
    say(
      `         TOKEN=$(npm run -s token -- --user immd-admin)     # demo users: ${Object.keys(demoUsers).join(" ")}`,
    );
    say(
      `         curl -s -H "Authorization: Bearer $TOKEN" ${api.url}/api/v1/departments/immd/environments/prod/eservices`,
    );
    say(`         curl -s ${api.url}/api/v1/service-clusters                # public catalogue, no token`);
  }
  say("running; press Ctrl-C to stop");
}

/**
 * The portal API's settings under `npm start`: with the local provider (at `localWebUrl`'s sign-in), as its
 * registered API client, with sign-in to the pages as its registered web client.
 */
function portalApiStartSettings(
  config: PortalApiConfig,
  kubeconfig: string,
  localWebUrl: string | undefined,
): PortalApiSettings {
  const settings = startSettings(config);
  if (!localWebUrl) return { ...settings, kubeconfig: kubeConfigFrom(kubeconfig) };
  return {
    ...settings,
    kubeconfig: kubeConfigFrom(kubeconfig),
    tokens: {
      ...settings.tokens,
      clientId: apiClient.id,
      clientSecret: apiClient.secret,
      allowHttpIssuer: true,
    },
    web: {
      baseUrl: localWebUrl,
      clientId: webClient.id,
      clientSecret: webClient.secret,
      sessionKey: new Uint8Array(randomBytes(32)),
    },
  };
}

main().catch(async (error: unknown) => {
  if (error instanceof ConfigError) {
    // Nothing has started yet: the settings are read first.
    process.stderr.write(`govhost: ${error.message}\n`);
    process.exit(2);
  }
  process.stderr.write(`govhost: ${error instanceof Error ? error.message : String(error)}\n`);
  say("start failed: stopping what was started");
  await started.stopAll();
  process.exit(1);
});
