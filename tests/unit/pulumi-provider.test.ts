import { describe, expect, it } from "vitest";
import { govhostProvider, typeOfUrn } from "../../tools/pulumi-provider/provider.ts";

// The govhost provider plugin's own logic without the engine: which resource a URN names, and the inputs it
// refuses before creating anything (the engine shows these failures against the property).

const provider = govhostProvider("0.1.0");
const cloudUrn = "urn:pulumi:local::govhost::govhost:local:Cloud::local-cloud";
const imageUrn = "urn:pulumi:local::govhost::govhost:local:Image::govhost-image";

describe("the govhost provider plugin", () => {
  it("reads the resource type from a URN, also under a parent", () => {
    expect(typeOfUrn(cloudUrn)).toBe("govhost:local:Cloud");
    expect(typeOfUrn("urn:pulumi:s::p::my:component:Thing$govhost:local:Image::img")).toBe(
      "govhost:local:Image",
    );
  });

  it("accepts a cloud's inputs and refuses a relative state directory or a missing node choice", async () => {
    const good = await provider.check?.(cloudUrn, {}, { stateDir: "/tmp/c", node: true });
    expect(good).toEqual({ inputs: { stateDir: "/tmp/c", node: true }, failures: [] });
    const bad = await provider.check?.(cloudUrn, {}, { stateDir: "relative/dir" });
    expect(bad?.failures?.map((f) => f.property).sort()).toEqual(["inputs", "stateDir"]);
  });

  it("refuses an image repository without a value, and any type it does not provide", async () => {
    const bad = await provider.check?.(
      imageUrn,
      {},
      { registryPushAddress: "127.0.0.1:5000", cloudWorkDir: "/w" },
    );
    expect(bad?.failures?.length).toBeGreaterThan(0);
    const unknown = await provider.check?.("urn:pulumi:s::p::govhost:local:Nope::x", {}, {});
    expect(unknown?.failures?.[0]?.reason).toContain("no resource govhost:local:Nope");
  });

  it("replaces the cloud (stopping the old one first) when its directory or node choice changes", async () => {
    const same = await provider.diff?.(
      "/tmp/c",
      cloudUrn,
      { stateDir: "/tmp/c", node: true, server: "x" },
      { stateDir: "/tmp/c", node: true },
    );
    expect(same?.changes).toBe(false);
    const moved = await provider.diff?.(
      "/tmp/c",
      cloudUrn,
      { stateDir: "/tmp/c", node: true },
      { stateDir: "/tmp/d", node: true },
    );
    expect(moved).toEqual({ changes: true, replaces: ["stateDir"], deleteBeforeReplace: true });
  });

  it("checks a tenant drain's inputs, and diffs it without ever replacing it", async () => {
    const drainUrn = "urn:pulumi:s::govhost::govhost:platform:Platform$govhost:platform:TenantDrain::d";
    const inputs = { kubeconfig: "apiVersion: v1\nkind: Config\n", timeoutSeconds: 600 };
    expect(await provider.check?.(drainUrn, {}, inputs)).toEqual({ inputs, failures: [] });
    const bad = await provider.check?.(drainUrn, {}, { kubeconfig: "", timeoutSeconds: 0 });
    expect(bad?.failures?.map((f) => f.property).sort()).toEqual(["kubeconfig", "timeoutSeconds"]);
    // The engine sends the kubeconfig as a secret (the plugin accepts secrets), wrapped in Pulumi's marker.
    const secret = (value: string) => ({
      "4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270",
      value,
    });
    const sent = { ...inputs, kubeconfig: secret(inputs.kubeconfig) };
    expect(await provider.check?.(drainUrn, {}, sent)).toEqual({ inputs, failures: [] });
    expect((await provider.diff?.("tenant-drain", drainUrn, sent, inputs))?.changes).toBe(false);
    const renewed = await provider.diff?.("tenant-drain", drainUrn, inputs, { ...inputs, kubeconfig: "x" });
    expect(renewed).toEqual({ changes: true, replaces: [] });
    expect((await provider.diff?.("tenant-drain", drainUrn, inputs, inputs))?.changes).toBe(false);
  });
});
