import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KubeClient, type KubeObject, type WatchEvent } from "../../lib/kube/client.ts";
import { resources } from "../../lib/kube/resources.ts";
import { kubeConfigFrom } from "../../tools/cluster/credentials.ts";
import { startLocalApiServer } from "./support/local-api-server.ts";

// A watch is a stream of JSON lines that reaches the client in reads of any size: a read may end inside a
// line, inside a multi-byte character, or hold several lines. Every event must come out whole, in order.

const annotated = (name: string, note: string, managed: boolean): KubeObject => ({
  apiVersion: "v1",
  kind: "ConfigMap",
  metadata: {
    name,
    namespace: "ns",
    resourceVersion: name.slice(1),
    annotations: { "govhost.io/note": note },
    ...(managed
      ? {
          managedFields: [{ manager: "kubectl", operation: "Apply", fieldsV1: { "f:data": { "f:a]": {} } } }],
        }
      : {}),
  },
  data: { text: `${note} ]}{"[` },
});

const sent: WatchEvent<KubeObject>[] = [
  { type: "ADDED", object: annotated("c1", "衛生署 — Department of Health", true) },
  { type: "MODIFIED", object: annotated("c2", "入境事務處 🛂", false) },
  { type: "DELETED", object: annotated("c3", "plain", true) },
  { type: "ADDED", object: annotated("c4", "香港", true) },
];

/** The stream cut into reads at these byte offsets (inside characters, between and across lines). */
function reads(): Buffer[] {
  const bytes = Buffer.from(`${sent.map((e) => JSON.stringify(e)).join("\n\n")}\n`);
  const firstMultiByte = bytes.indexOf(Buffer.from("衛")) + 1;
  const emoji = bytes.indexOf(Buffer.from("🛂")) + 2;
  const cuts = [1, firstMultiByte, firstMultiByte + 1, emoji, emoji + 40, bytes.length - 3, bytes.length];
  return cuts.map((end, i) => bytes.subarray(cuts[i - 1] ?? 0, end));
}

let server: Awaited<ReturnType<typeof startLocalApiServer>>;

beforeAll(async () => {
  server = await startLocalApiServer("watch", async (req, res) => {
    req.resume();
    res.setHeader("content-type", "application/json");
    for (const read of reads()) {
      res.write(read);
      await sleep(5); // each write its own read at the client
    }
    res.end();
  });
});

afterAll(() => server?.close());

describe("KubeClient.watch", () => {
  it("passes every event whole and in order however the stream is cut, without managedFields", async () => {
    const client = await KubeClient.fromKubeConfig(kubeConfigFrom(server.kubeconfig));
    try {
      const received: WatchEvent<KubeObject>[] = [];
      await client.watch<KubeObject>(resources.configMap, "0", (event) => received.push(event), {
        withoutManagedFields: true,
      });
      const withoutManaged = sent.map((e) => {
        const { managedFields: _, ...metadata } = e.object.metadata ?? {};
        return { type: e.type, object: { ...e.object, metadata } };
      });
      expect(received).toEqual(withoutManaged);
    } finally {
      client.close();
    }
  });
});
