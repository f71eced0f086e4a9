import { describe, expect, it } from "vitest";
import { appliedDigest, appliedVersion } from "../../controller/runtime/applied-digest.ts";
import { ReapplySchedule } from "../../controller/runtime/reapply-schedule.ts";
import type { KubeObject } from "../../lib/kube/client.ts";

const policy = (name: string, port = 53): KubeObject => ({
  apiVersion: "networking.k8s.io/v1",
  kind: "NetworkPolicy",
  metadata: { name, namespace: "d-prod", labels: { "govhost.io/department": "d" } },
  spec: { podSelector: {}, egress: [{ ports: [{ protocol: "UDP", port }] }] },
});
const namespace: KubeObject = { apiVersion: "v1", kind: "Namespace", metadata: { name: "d-prod" } };

describe("appliedDigest", () => {
  const applied = [
    { desired: namespace, version: "10" },
    { desired: policy("dns"), version: "11" },
    { desired: policy("deny"), version: "12" },
  ];
  const digest = appliedDigest(applied, ["d-prod/govhost-viewers"]);

  it("is the same for the same children at the same versions, in any order and key order", () => {
    const reordered = [
      { desired: { spec: policy("deny").spec, ...policy("deny") }, version: "12" },
      { desired: policy("dns"), version: "11" },
      { desired: namespace, version: "10" },
    ];
    expect(appliedDigest(reordered, ["d-prod/govhost-viewers"])).toBe(digest);
    expect(digest).toMatch(/^sha256:[A-Za-z0-9_-]{43}$/);
  });

  it("changes when any child was written since (its version moved), is missing, or is wanted otherwise", () => {
    const variants = [
      applied.map((a, i) => (i === 1 ? { ...a, version: "13" } : a)),
      applied.map((a, i) => (i === 2 ? { ...a, version: undefined } : a)),
      applied.map((a, i) => (i === 1 ? { ...a, desired: policy("dns", 5353) } : a)),
      applied.slice(0, 2),
    ];
    for (const children of variants)
      expect(appliedDigest(children, ["d-prod/govhost-viewers"])).not.toBe(digest);
  });

  it("changes with the children that must not exist", () => {
    expect(appliedDigest(applied, [])).not.toBe(digest);
    expect(appliedDigest(applied, ["d-prod/govhost-viewers", "d-prod/govhost-developers"])).not.toBe(digest);
  });
});

describe("ReapplySchedule", () => {
  const hour = 3_600_000;

  it("spreads first full applies over the period, then makes each key due once per period", () => {
    let now = 10 * hour;
    const schedule = new ReapplySchedule(hour, () => now);
    const keys = Array.from({ length: 200 }, (_, i) => `dept-${i}`);
    expect(keys.filter((k) => schedule.due(k))).toEqual([]);
    now += hour / 2;
    const firstHalf = keys.filter((k) => schedule.due(k));
    // About half of an even spread; far from none or all.
    expect(firstHalf.length).toBeGreaterThan(60);
    expect(firstHalf.length).toBeLessThan(140);
    for (const key of firstHalf) schedule.applied(key);
    expect(keys.filter((k) => schedule.due(k))).toEqual([]);
    now += hour / 2;
    const secondHalf = keys.filter((k) => schedule.due(k));
    expect(new Set([...firstHalf, ...secondHalf]).size).toBe(keys.length);
    expect(secondHalf.some((k) => firstHalf.includes(k))).toBe(false);
  });

  it("starts a forgotten key afresh", () => {
    let now = 0;
    const schedule = new ReapplySchedule(hour, () => now);
    schedule.due("a");
    now += hour;
    expect(schedule.due("a")).toBe(true);
    schedule.forget("a");
    expect(schedule.due("a")).toBe(false);
  });
});

describe("appliedVersion", () => {
  const desired: KubeObject = {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "web", namespace: "d-prod", labels: { app: "web" } },
    spec: { replicas: 2 },
  };
  const stored = (changes: { generation?: number; labels?: Record<string, string> } = {}): KubeObject => ({
    ...desired,
    metadata: {
      ...desired.metadata,
      resourceVersion: String(Math.random()),
      generation: changes.generation ?? 3,
      labels: changes.labels ?? { app: "web" },
      annotations: { "deployment.kubernetes.io/revision": "3" },
    },
    status: { availableReplicas: 1 },
  });

  it("of a Deployment ignores status writes and other people's metadata, not a spec change or our labels", () => {
    const version = appliedVersion(desired, stored());
    expect(appliedVersion(desired, { ...stored(), status: { availableReplicas: 2 } })).toBe(version);
    expect(appliedVersion(desired, stored({ labels: { app: "web", team: "x" } }))).toBe(version);
    expect(appliedVersion(desired, stored({ generation: 4 }))).not.toBe(version);
    expect(appliedVersion(desired, stored({ labels: {} }))).not.toBe(version);
    expect(appliedVersion(desired, stored({ labels: { app: "other" } }))).not.toBe(version);
  });

  it("of other kinds is the resourceVersion, and nothing for a child that does not exist", () => {
    const service = { apiVersion: "v1", kind: "Service", metadata: { name: "web" } };
    expect(appliedVersion(service, { ...service, metadata: { name: "web", resourceVersion: "42" } })).toBe(
      "42",
    );
    expect(appliedVersion(desired, undefined)).toBeUndefined();
  });
});
