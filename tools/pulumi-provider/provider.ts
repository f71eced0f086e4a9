import type * as provider from "@pulumi/pulumi/provider/index.js";
import { unwrapRpcSecret } from "@pulumi/pulumi/runtime/rpc.js";
import type { TSchema } from "typebox";
import { Compile } from "typebox/compile";
import {
  buildAndPushGovhostImage,
  currentGovhostImageHash,
  GovhostImageInputs,
  type GovhostImageOutputs,
  govhostImageType,
} from "./govhost-image.ts";
import {
  createLocalCloud,
  deleteLocalCloud,
  LocalCloudInputs,
  type LocalCloudOutputs,
  localCloudType,
  readLocalCloud,
} from "./local-cloud.ts";
import { drainTenants, TenantDrainInputs, tenantDrainType } from "./tenant-drain.ts";

// The `govhost` Pulumi resource provider (plugin pulumi-resource-govhost): the local cloud and the govhost
// image as resources of the local stack, and in every stack the drain of tenants on destroy. A plugin
// rather than a dynamic provider, so the engine runs these modules as they are instead of serialising
// closures, and rather than @pulumi/command, whose provider the Go module proxy here does not serve. Progress goes to stderr (stdout carries the plugin's port).

const log = (line: string) => process.stderr.write(`govhost provider: ${line}\n`);

/** The resource type of a URN (urn:pulumi:stack::project::type::name; a parent's type comes first, `$`-joined). */
export function typeOfUrn(urn: string): string {
  const qualifiedType = urn.split("::")[2] ?? "";
  return qualifiedType.split("$").at(-1) ?? "";
}

function failuresOf(schema: TSchema, inputs: unknown): provider.CheckFailure[] {
  return [...Compile(schema).Errors(inputs)].map((error) => ({
    property: error.instancePath.replace(/^\//, "").replaceAll("/", ".") || "inputs",
    reason: error.message,
  }));
}

/**
 * The values as plain ones: the plugin accepts secrets, so the engine sends a secret input or output (the
 * tenant drain's kubeconfig) wrapped in Pulumi's secret marker; the engine keeps them secret in the state.
 */
function plain(values: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(values).map(([key, value]) => [key, unwrapRpcSecret(value)]));
}

/** Only the declared inputs (the engine adds none, but a program may pass extras by mistake). */
function pick(inputs: Record<string, unknown>, keys: readonly string[]): Record<string, unknown> {
  return Object.fromEntries(keys.filter((key) => key in inputs).map((key) => [key, inputs[key]]));
}

const cloudKeys = ["stateDir", "node"] as const;
const imageKeys = ["registryPushAddress", "cloudWorkDir", "repository"] as const;
const drainKeys = ["kubeconfig", "context", "timeoutSeconds"] as const;

function changed(olds: Record<string, unknown>, news: Record<string, unknown>, keys: readonly string[]) {
  return keys.filter((key) => JSON.stringify(olds[key]) !== JSON.stringify(news[key]));
}

export function govhostProvider(version: string): provider.Provider {
  return {
    version,

    async check(urn, _olds, news) {
      const type = typeOfUrn(urn);
      if (type === localCloudType) {
        const inputs = pick(news, cloudKeys);
        return { inputs, failures: failuresOf(LocalCloudInputs, inputs) };
      }
      if (type === govhostImageType) {
        const inputs = pick(news, imageKeys);
        return { inputs, failures: failuresOf(GovhostImageInputs, inputs) };
      }
      if (type === tenantDrainType) {
        const inputs = pick(plain(news), drainKeys);
        return { inputs, failures: failuresOf(TenantDrainInputs, inputs) };
      }
      return { failures: [{ property: "type", reason: `the govhost provider has no resource ${type}` }] };
    },

    async diff(_id, urn, olds, news) {
      // Nothing exists to replace: new credentials or a new timeout are only kept for the destroy.
      if (typeOfUrn(urn) === tenantDrainType)
        return { changes: changed(plain(olds), plain(news), drainKeys).length > 0, replaces: [] };
      if (typeOfUrn(urn) === localCloudType) {
        // Another directory or node choice is another cloud: stop this one first (one cloud per machine).
        const replaces = changed(olds, news, cloudKeys);
        return { changes: replaces.length > 0, replaces, deleteBeforeReplace: true };
      }
      const replaces = changed(olds, news, imageKeys);
      // Sources changed since the push: build and push again (a new digest for the Deployments).
      const rebuild = (olds as GovhostImageOutputs).contentHash !== currentGovhostImageHash();
      return { changes: replaces.length > 0 || rebuild, replaces };
    },

    async create(urn, inputs) {
      if (typeOfUrn(urn) === tenantDrainType) return { id: "tenant-drain", outs: plain(inputs) };
      if (typeOfUrn(urn) === localCloudType) {
        const outs = await createLocalCloud(inputs, log);
        return { id: outs.stateDir, outs };
      }
      const outs = buildAndPushGovhostImage(inputs, log);
      return { id: outs.image, outs };
    },

    async update(_id, urn, _olds, news) {
      if (typeOfUrn(urn) === tenantDrainType) return { outs: plain(news) };
      if (typeOfUrn(urn) === localCloudType) return { outs: await createLocalCloud(news, log) };
      return { outs: buildAndPushGovhostImage(news, log) };
    },

    async read(id, urn, props) {
      if (typeOfUrn(urn) === localCloudType) {
        const outs = readLocalCloud(props as LocalCloudOutputs);
        // A cloud that no longer runs (stopped, or the machine restarted) is gone: the next up starts one.
        return outs ? { id, props: outs } : {};
      }
      return { id, props };
    },

    async delete(_id, urn, props) {
      if (typeOfUrn(urn) === tenantDrainType)
        await drainTenants(
          plain(props) as { kubeconfig: string; context?: string; timeoutSeconds: number },
          log,
        );
      // The image goes with the cloud's registry; nothing to remove on its own.
      if (typeOfUrn(urn) === localCloudType)
        await deleteLocalCloud((props as LocalCloudOutputs).stateDir, log);
    },
  };
}
