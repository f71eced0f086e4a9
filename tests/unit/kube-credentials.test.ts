import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import type { RequestOptions } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { defaultCredentials } from "../../lib/kube/credentials.ts";

const dir = mkdtempSync(join(tmpdir(), "govhost-credentials-"));
const savedKubeconfig = process.env.KUBECONFIG;
afterEach(() => {
  if (savedKubeconfig === undefined) delete process.env.KUBECONFIG;
  else process.env.KUBECONFIG = savedKubeconfig;
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function kubeconfig(name: string, user: Record<string, unknown>, cluster: Record<string, unknown> = {}) {
  const path = join(dir, name);
  writeFileSync(
    path,
    stringify({
      apiVersion: "v1",
      kind: "Config",
      "current-context": "mine",
      contexts: [
        { name: "other", context: { cluster: "elsewhere", user: "someone" } },
        { name: "mine", context: { cluster: "local", user: "me" } },
      ],
      clusters: [
        { name: "elsewhere", cluster: { server: "https://elsewhere.example:6443" } },
        { name: "local", cluster: { server: "https://127.0.0.1:6443/", ...cluster } },
      ],
      users: [
        { name: "someone", user: { token: "not-mine" } },
        { name: "me", user },
      ],
    }),
  );
  process.env.KUBECONFIG = path;
  return path;
}

async function applied(): Promise<{ server: string; options: RequestOptions }> {
  const credentials = await defaultCredentials();
  const options: RequestOptions = { headers: {} };
  await credentials.apply(options);
  return { server: credentials.server, options };
}

describe("cluster credentials read from a kubeconfig", () => {
  it("take the current context's server, CA and token", async () => {
    kubeconfig(
      "token",
      { token: "abc" },
      { "certificate-authority-data": Buffer.from("CA").toString("base64") },
    );
    const { server, options } = await applied();
    expect(server).toBe("https://127.0.0.1:6443");
    expect(String(options.ca)).toBe("CA");
    expect(options.headers).toEqual({ authorization: "Bearer abc" });
  });

  it("read certificate files relative to the kubeconfig, and a token file again on every reload", async () => {
    writeFileSync(join(dir, "client.crt"), "CERT");
    writeFileSync(join(dir, "client.key"), "KEY");
    writeFileSync(join(dir, "ca.crt"), "CA-FILE");
    writeFileSync(join(dir, "sa-token"), "first\n");
    kubeconfig(
      "files",
      { "client-certificate": "client.crt", "client-key": "client.key", tokenFile: join(dir, "sa-token") },
      { "certificate-authority": "ca.crt" },
    );
    const credentials = await defaultCredentials();
    const first: RequestOptions = { headers: {} };
    await credentials.apply(first);
    expect([String(first.cert), String(first.key), String(first.ca)]).toEqual(["CERT", "KEY", "CA-FILE"]);
    expect(first.headers).toEqual({ authorization: "Bearer first" });
    writeFileSync(join(dir, "sa-token"), "rotated\n");
    const second: RequestOptions = { headers: {} };
    await credentials.apply(second);
    expect(second.headers).toEqual({ authorization: "Bearer rotated" });
  });

  it("leave what they do not read themselves (an exec plugin) to @kubernetes/client-node", async () => {
    const credential = {
      apiVersion: "client.authentication.k8s.io/v1",
      kind: "ExecCredential",
      status: { token: "from-plugin" },
    };
    kubeconfig("exec", {
      exec: {
        apiVersion: "client.authentication.k8s.io/v1",
        command: "echo",
        args: [JSON.stringify(credential)],
      },
    });
    const { server, options } = await applied();
    expect(server).toBe("https://127.0.0.1:6443");
    expect(options.headers).toMatchObject({ Authorization: "Bearer from-plugin" });
  });

  it("name the problem when the current context has no cluster", async () => {
    const path = join(dir, "empty");
    writeFileSync(path, stringify({ "current-context": "none", contexts: [], clusters: [], users: [] }));
    process.env.KUBECONFIG = path;
    await expect(defaultCredentials()).rejects.toThrow(/current context names no cluster/);
  });
});
