import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { cachedPod, podsInformer } from "../../controller/runtime/pods-cache.ts";
import { podReading } from "../../lib/chargeback/above-request.ts";
import { podAllocationChanges } from "../../lib/chargeback/allocations.ts";
import type { KubeObject } from "../../lib/kube/client.ts";
import { resources } from "../../lib/kube/resources.ts";
import { baselineRules } from "../../policies/baseline.ts";
import { evaluateRule, ruleApplies } from "../../policies/evaluate.ts";
import { platformOwned } from "../../policies/keys.ts";
import { corpus, corpusRegistries } from "../policy-corpus/corpus.ts";
import { unstartedManager } from "./support/unstarted-manager.ts";

// The controller's pods cache keeps metadata and spec whole and of status only what bills read. Whatever
// reads the cache must get the same answers from a trimmed pod as from the whole one: every bill and every
// baseline verdict, for every pod the corpus describes (its pods and its workloads' pod templates) in
// every state a pod passes through.

type Json = Record<string, unknown>;

/** The corpus's pods: its Pod manifests, and a pod for each workload's template. */
function corpusPods(): { name: string; pod: KubeObject }[] {
  return corpus.flatMap(({ name, manifest }) => {
    if (manifest.kind === "Pod") return [{ name, pod: manifest as KubeObject }];
    const spec = manifest.spec as Json | undefined;
    const template =
      ((spec?.jobTemplate as Json | undefined)?.spec as Json | undefined)?.template ?? spec?.template;
    if (!template) return [];
    const { metadata, spec: podSpec } = template as { metadata?: Json; spec?: Json };
    const pod = {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { ...metadata, name: `${name}-x1`, namespace: "corpus-dev", uid: `uid-${name}` },
      spec: podSpec,
    };
    return [{ name: `${name} (template)`, pod }];
  });
}

const startTime = "2026-12-01T08:00:00Z";
const running = (name: string) => ({
  name,
  ready: true,
  restartCount: 1,
  image: "registry.gov.example/corpus/web:1.4.2",
  imageID: "registry.gov.example/corpus/web@sha256:0f0e",
  containerID: "containerd://9a8b7c",
  started: true,
  state: { running: { startedAt: startTime } },
  lastState: { terminated: { exitCode: 137, reason: "OOMKilled", finishedAt: "2026-12-01T07:59:00Z" } },
});
const terminated = (name: string, finishedAt: string) => ({
  ...running(name),
  ready: false,
  state: { terminated: { exitCode: 0, reason: "Completed", startedAt: startTime, finishedAt } },
});
const conditions = ["PodScheduled", "Initialized", "ContainersReady", "Ready"].map((type) => ({
  type,
  status: "True",
  lastTransitionTime: startTime,
}));

/** The pod in each state it passes through, with the status a kubelet writes. */
function lifecycle(pod: KubeObject): { state: string; pod: KubeObject; deleted: boolean }[] {
  const status = (phase: string, containerStatuses: Json[]) => ({
    phase,
    startTime,
    conditions,
    hostIP: "10.0.0.5",
    podIP: "10.244.0.17",
    podIPs: [{ ip: "10.244.0.17" }],
    qosClass: "Burstable",
    containerStatuses,
  });
  const at = (state: Json) => ({ ...pod, status: state }) as KubeObject;
  return [
    { state: "pending", pod: at({ phase: "Pending", conditions: conditions.slice(0, 1) }), deleted: false },
    { state: "running", pod: at(status("Running", [running("app")])), deleted: false },
    {
      state: "succeeded",
      pod: at(
        status("Succeeded", [
          terminated("app", "2026-12-01T09:30:00Z"),
          terminated("b", "2026-12-01T09:31:07Z"),
        ]),
      ),
      deleted: false,
    },
    {
      state: "failed",
      pod: at(status("Failed", [terminated("app", "2026-12-01T10:00:00Z")])),
      deleted: false,
    },
    {
      state: "deleting",
      pod: {
        ...at(status("Running", [running("app")])),
        metadata: { ...pod.metadata, deletionTimestamp: "2026-12-01T11:00:00Z" },
      } as KubeObject,
      deleted: false,
    },
    { state: "deleted", pod: at(status("Running", [running("app")])), deleted: true },
  ];
}

const namespaceObject = {
  metadata: {
    name: "corpus-dev",
    labels: { [platformOwned.department]: "corpus", [platformOwned.environment]: "dev" },
  },
};
const params = { data: { allowedRegistries: corpusRegistries.join(",") } };

function verdicts(pod: KubeObject) {
  return baselineRules
    .filter((rule) => ruleApplies(rule, pod))
    .map((rule) => evaluateRule(rule, { object: pod as Json, namespaceObject, params }));
}

const owner = { department: "corpus", environment: "dev" };
const metrics = { containers: [{ usage: { cpu: "250m", memory: "300Mi" } }] };

describe("the pods cache", () => {
  const pods = corpusPods();
  // A deleted pod without a deletionTimestamp ends now: the same now for the whole and the trimmed pod.
  beforeEach(() => {
    vi.useFakeTimers({ now: Date.parse("2026-12-01T12:00:00Z") });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it("covers pods the baseline passes and pods it fails", () => {
    const failing = pods.filter(({ pod }) => verdicts(pod).some((v) => !v.passed));
    expect(pods.length).toBeGreaterThan(20);
    expect(failing.length).toBeGreaterThan(5);
  });

  for (const { name, pod } of pods)
    it(`bills and judges ${name} alike, trimmed or whole, in every state`, () => {
      for (const { state, pod: whole, deleted } of lifecycle(pod)) {
        const trimmed = cachedPod(whole);
        expect(trimmed.metadata, state).toEqual(whole.metadata);
        expect(trimmed.spec, state).toEqual(whole.spec);
        expect(
          podAllocationChanges(trimmed, owner, deleted).map((c) => ({ ...c, amount: String(c.amount) })),
          state,
        ).toEqual(
          podAllocationChanges(whole, owner, deleted).map((c) => ({ ...c, amount: String(c.amount) })),
        );
        expect(podReading(trimmed, metrics, "dev"), state).toEqual(podReading(whole, metrics, "dev"));
        expect(verdicts(trimmed), state).toEqual(verdicts(whole));
      }
    });

  it("keeps of status only the phase, the start time and when terminated containers finished", () => {
    const succeeded = lifecycle(pods[0]?.pod as KubeObject).find((s) => s.state === "succeeded")?.pod;
    expect(cachedPod(succeeded as KubeObject).status).toEqual({
      phase: "Succeeded",
      startTime,
      containerStatuses: [
        { state: { terminated: { finishedAt: "2026-12-01T09:30:00Z" } } },
        { state: { terminated: { finishedAt: "2026-12-01T09:31:07Z" } } },
      ],
    });
    const deleted = lifecycle(pods[0]?.pod as KubeObject).find((s) => s.state === "deleted")?.pod;
    const bytes = (o: unknown) => JSON.stringify(o).length;
    expect(bytes(cachedPod(deleted as KubeObject))).toBeLessThan(bytes(deleted));
  });

  it("is one cache: metering and compliance share it, and a reader asking for pods kept another way is refused", () => {
    const manager = unstartedManager();
    const shared = podsInformer(manager);
    expect(podsInformer(manager)).toBe(shared);
    expect(() => manager.informer(resources.pod, { phase: 1 })).toThrow(/another transform/);
  });
});
