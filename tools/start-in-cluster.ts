import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { localKubeconfig } from "../lib/local-state.ts";
import { ensureLocalControlPlane, stopLocalControlPlane } from "./cluster/local.ts";
import { localIngress, localPublicDomains } from "./cluster/node/ingress.ts";
import { nodeNetwork } from "./cluster/node/network.ts";
import { removeAllDepartments, seedDemo } from "./demo-seed.ts";
import { pushDemoSiteImages } from "./demo-site-image.ts";
import { localStackBaseline } from "./install-platform.ts";
import { startLocalProvider } from "./oidc/provider.ts";
import { demoUsers, webClient } from "./oidc/users.ts";
import { runStack } from "./pulumi.ts";

// `npm start -- --in-cluster`: the platform as it runs in production, in the local cloud: the local stack's
// `pulumi up` builds this checkout's image, pushes it to the cloud's registry and deploys the controller (two
// replicas, leader election) and the portal API (behind the ingress controller) from it. Slower to start
// than the default (host processes, which pick up a code change on restart); it is what to try before an
// install, or to see the platform's own pods, metrics and failover.

export interface InClusterStart {
  stateDir: string;
  oidcPort: number;
  audience: string;
  say: (message: string) => void;
  /** Registers what to undo on Ctrl-C (npm start stops it in reverse order). */
  onStop: (what: string, stop: () => Promise<unknown>) => void;
}

/**
 * The web pages' session key, kept in the state directory (owner only), so a later start signs nobody out
 * and its `pulumi up` changes nothing.
 */
function sessionKey(stateDir: string): string {
  const file = join(stateDir, "session-key");
  if (!existsSync(file)) writeFileSync(file, randomBytes(32).toString("base64"), { mode: 0o600 });
  return readFileSync(file, "utf8").trim();
}

/** The API's host name at the local ingress controller. */
export const inClusterApiHost = `api.${localPublicDomains[0]}`;

export async function startInCluster(o: InClusterStart): Promise<void> {
  const { say } = o;
  if (process.env.KUBECONFIG)
    throw new Error(
      "--in-cluster runs the platform in the local cloud: unset KUBECONFIG (for a cluster of your own, `npm run pulumi -- up --stack <name>` with govhost:clusterMode=existing, infra/README.md)",
    );
  // The cloud first (the stack's Cloud resource takes it over): the OpenID provider listens on the node's
  // address, which exists once the node does.
  // The cloud and the stack's state live in the state directory: the project's .govhost/ by default (the
  // local stack itself), elsewhere a throw-away stack of the same program (GOVHOST_STATE_DIR, e.g. a test).
  const own = o.stateDir !== dirname(localKubeconfig);
  const paths = { state: join(o.stateDir, "cluster.json"), kubeconfig: join(o.stateDir, "kubeconfig") };
  const stack = {
    stack: "local",
    ...(own ? { stateDir: join(o.stateDir, "pulumi-state"), workDir: join(o.stateDir, "pulumi-stack") } : {}),
  };
  if (own) mkdirSync(join(o.stateDir, "pulumi-stack"), { recursive: true });
  const { state, startedHere } = await ensureLocalControlPlane((m) => say(`  ${m}`), paths);
  if (startedHere) o.onStop("the local cloud", async () => stopLocalControlPlane(() => {}, paths));
  if (!state.node) {
    throw new Error(`--in-cluster needs the local cloud's node, and there is none here: ${state.nodeAbsent}`);
  }
  const webUrl = `https://${inClusterApiHost}`;
  const identity = await startLocalProvider({
    host: nodeNetwork.nodeIp,
    port: o.oidcPort,
    audience: o.audience,
    webRedirectUris: [`${webUrl}/auth/callback`],
  });
  o.onStop("the local OpenID provider", () => identity.close());
  const programConfig = {
    oidcIssuer: identity.issuer,
    oidcAllowHttp: "true",
    oidcAudience: o.audience,
    apiHost: inClusterApiHost,
    allowedRegistries: JSON.stringify(localStackBaseline.allowedRegistries),
    localCloudDir: o.stateDir,
    webUrl,
    webClientId: webClient.id,
    webClientSecret: webClient.secret,
    sessionKey: sessionKey(o.stateDir),
  };
  // Registered before the up, so a failed up is undone too (destroy removes what it got to).
  if (startedHere)
    o.onStop("the platform and the local cloud", async () => {
      await removeAllDepartments(paths.kubeconfig, say);
      say(
        "removing the platform and stopping the local cloud it started: `pulumi destroy` of the local stack",
      );
      await runStack({ operation: "destroy", ...stack, programConfig });
      say("the platform is removed and the local cloud stopped");
    });
  else
    say("the local cloud was running before: on Ctrl-C both stay (`npm run pulumi -- destroy` removes them)");

  say(
    "installing the platform in the cluster: `pulumi up` of the local stack (the image build is cached after the first)",
  );
  const started = Date.now();
  const summary = await runStack({
    operation: "up",
    ...stack,
    programConfig,
    onOutput: (text) => process.stdout.write(text.replace(/^(?=.)/gm, "  ")),
  });
  say(
    `platform running in the cluster (${JSON.stringify(summary)}, ${((Date.now() - started) / 1000).toFixed(0)} s)`,
  );
  const images = pushDemoSiteImages(state.node.registry.pushAddress, join(o.stateDir, "demo-images"));
  await seedDemo(paths.kubeconfig, { image: images.broken.ref }, say);
  say(`seeded demo e-service immd-prod/visa-status (the image ${images.broken.ref})`);

  const resolve = `--resolve ${inClusterApiHost}:${localIngress.httpsPort}:${localIngress.address} --cacert ${state.pki.caCert}`;
  say(
    `portal API https://${inClusterApiHost}/api/v1 through the ingress controller (pods: kubectl -n govhost-system get pods)`,
  );
  say(`try it:  export KUBECONFIG=${paths.kubeconfig}`);
  say(
    `         TOKEN=$(GOVHOST_OIDC_ISSUER=${identity.issuer} npm run -s token -- --user immd-admin)     # demo users: ${Object.keys(demoUsers).join(" ")}`,
  );
  say(
    `         curl -s ${resolve} -H "Authorization: Bearer $TOKEN" https://${inClusterApiHost}/api/v1/departments/immd/environments/prod/eservices`,
  );
  say(
    `         curl -s ${resolve} https://${inClusterApiHost}/api/v1/service-clusters     # public catalogue, no token`,
  );
  say(
    "         kubectl -n immd-prod get eservice visa-status     # scanned in the cluster (Chromium in the controller pod's browser container): rules fail, not exposed",
  );
  say(
    `         curl -s ${resolve} -H "Authorization: Bearer $TOKEN" -H 'content-type: application/json' -X PATCH -d '{"spec":{"image":"${images.fixed.ref}"}}' https://${inClusterApiHost}/api/v1/departments/immd/environments/prod/eservices/visa-status     # ship the fixed pages: rescanned, exposed`,
  );
  say(
    "         kubectl -n govhost-system delete pod -l app.kubernetes.io/name=govhost-controller --wait=false   # failover",
  );
  say(
    `web pages ${webUrl}/ (sign in as a demo user, any password): for a browser, "${localIngress.address} ${inClusterApiHost}" in /etc/hosts and the cluster CA ${state.pki.caCert} trusted`,
  );
  say("running; press Ctrl-C to stop");
}
