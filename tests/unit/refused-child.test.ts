import { describe, expect, it } from "vitest";
import { applyChild, invalidChildMessage, RefusedChild } from "../../controller/runtime/invalid-child.ts";
import { KubeApiError, type KubeObject } from "../../lib/kube/client.ts";

const service: KubeObject = {
  apiVersion: "v1",
  kind: "Service",
  metadata: { name: "forms", namespace: "t" },
};
const refused = (error: unknown) => () => Promise.reject(error);

describe("applyChild", () => {
  it("returns what the apply returned", async () => {
    await expect(applyChild(service, async (child) => ({ ...child, status: {} }))).resolves.toEqual({
      ...service,
      status: {},
    });
  });

  it("names the child the API server found invalid, apart from a policy's refusal", async () => {
    const invalid = new KubeApiError(
      422,
      "Invalid",
      'Service "forms" is invalid: spec.ports[1].name: Duplicate',
    );
    const error = await applyChild(service, refused(invalid)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RefusedChild);
    expect(error).toMatchObject({ child: service, refusal: invalid, byPolicy: false });
    expect(invalidChildMessage("e-service", error as RefusedChild, "change the spec")).toMatch(
      /^The API server refused the e-service's Service "forms": Service "forms" is invalid: .*otherwise change the spec$/,
    );
  });

  it("tells a policy's refusal from the child's own validation", async () => {
    const policy = new KubeApiError(
      403,
      "Forbidden",
      "admission webhook denied the request: no host network",
    );
    await expect(applyChild(service, refused(policy))).rejects.toMatchObject({
      child: service,
      byPolicy: true,
    });
  });

  it("passes on what is not an admission refusal as it came", async () => {
    const conflict = new KubeApiError(409, "Conflict", "the object has been modified");
    const reset = new Error("ECONNRESET");
    await expect(applyChild(service, refused(conflict))).rejects.toBe(conflict);
    await expect(applyChild(service, refused(reset))).rejects.toBe(reset);
  });
});
