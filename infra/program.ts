import * as pulumi from "@pulumi/pulumi";
import { platformDefaults } from "../controller/api/defaults.ts";
import type { DepartmentSpec } from "../controller/api/department.ts";
import { defaultBaselineSettings } from "../policies/admission.ts";
import { type ClusterMode, defineCluster } from "./cluster.ts";
import { GovhostPlatform } from "./platform.ts";

/** The `govhost:` settings the program reads: the stack's config, under values a caller sets for one run. */
function settings(overrides: Record<string, string>) {
  const config = new pulumi.Config("govhost");
  const get = (key: string) => overrides[key] ?? config.get(key);
  return {
    get,
    getBoolean: (key: string) => (key in overrides ? overrides[key] === "true" : config.getBoolean(key)),
    getObject: <T>(key: string) =>
      key in overrides ? (JSON.parse(overrides[key] as string) as T) : config.getObject<T>(key),
    requireSecret: (key: string): pulumi.Output<string> =>
      key in overrides ? pulumi.secret(overrides[key] as string) : config.requireSecret(key),
  };
}

// The Pulumi program: the stack's cluster (config govhost:clusterMode) and the govhost platform in it.
// A function, so the Automation API can run it inline (tools/pulumi.ts) as often as a process needs;
// infra/index.ts runs it for the Pulumi CLI. `overrides` (keys without the `govhost:` prefix) take the place
// of stack config for this run only, without writing it into the stack's file (`npm start -- --in-cluster`).
export function platformProgram(overrides: Record<string, string> = {}) {
  const config = settings(overrides);
  const namedImage = config.get("image");
  const cluster = defineCluster({
    mode: (config.get("clusterMode") ?? "local") as ClusterMode,
    kubeconfigPath: config.get("kubeconfig"),
    context: config.get("context"),
    awaitReadiness: config.getBoolean("awaitReadiness"),
    localCloudDir: config.get("localCloudDir"),
    localNode: config.getBoolean("localNode"),
    image: namedImage,
  });
  // The image the stack names, else the one it built for its own cloud, else a release's reference.
  const image = namedImage ?? cluster.image ?? "registry.gov.example/govhost/govhost:0.1.0";
  const apiHost = config.get("apiHost");
  const webUrl = config.get("webUrl");
  const webClientId = config.get("webClientId");
  const platform = new GovhostPlatform("govhost", {
    cluster,
    baseline: {
      ...defaultBaselineSettings,
      allowedRegistries:
        config.getObject<string[]>("allowedRegistries") ?? defaultBaselineSettings.allowedRegistries,
      egressAllowlist: config.getObject<string[]>("egressAllowlist") ?? [],
    },
    ingressControllerNamespace: config.get("ingressNamespace") ?? platformDefaults.ingressControllerNamespace,
    trustedProxies: config.getObject<string[]>("trustedProxies") ?? [],
    images: {
      controller: config.get("controllerImage") ?? image,
      portalApi: config.get("portalApiImage") ?? image,
    },
    oidc: {
      issuer: config.get("oidcIssuer") ?? "https://login.gov.example",
      audience: config.get("oidcAudience") ?? platformDefaults.apiAudience,
      clientId: config.get("oidcClientId") ?? platformDefaults.apiClientId,
      allowHttpIssuer: config.getBoolean("oidcAllowHttp") ?? false,
    },
    ...(apiHost
      ? {
          api: {
            host: apiHost,
            ingressClassName: config.get("ingressClass") ?? platformDefaults.ingressClassName,
          },
        }
      : {}),
    // Sign-in to the pages: the web client's secret and the session key are secret config values.
    ...(webUrl
      ? {
          web: {
            url: webUrl,
            ...(webClientId ? { clientId: webClientId } : {}),
            clientSecret: config.requireSecret("webClientSecret"),
            sessionKey: config.requireSecret("sessionKey"),
          },
        }
      : {}),
    auditStorage: config.get("auditStorage") ?? "5Gi",
    serviceMonitor: config.getBoolean("serviceMonitor") ?? false,
    departments: config.getObject<{ name: string; spec: DepartmentSpec }[]>("departments") ?? [],
  });

  return { clusterMode: cluster.mode, kubeconfigPath: platform.kubeconfigPath, apiUrl: platform.apiUrl };
}
