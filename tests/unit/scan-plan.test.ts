import { describe, expect, it } from "vitest";
import { previewProblem } from "../../controller/eservice/scan-plan.ts";

describe("preview URLs: the operator allows hosts and ports, not hosts alone", () => {
  const allowed = ["preview.gov.example", "staging.gov.example:8443", "[::1]:9000"];

  it("allows a bare host on its scheme's default port only", () => {
    expect(previewProblem("https://preview.gov.example/portal", allowed)).toBeUndefined();
    expect(previewProblem("http://preview.gov.example/", allowed)).toBeUndefined();
    expect(previewProblem("https://preview.gov.example:443/", allowed)).toBeUndefined();
    expect(previewProblem("https://PREVIEW.gov.example/", allowed)).toBeUndefined();
    for (const url of [
      "http://preview.gov.example:2379/v3/kv/put",
      "https://preview.gov.example:8443/",
      "http://preview.gov.example:443/",
    ])
      expect(previewProblem(url, allowed)).toMatch(
        /preview\.gov\.example port \d+ is not one the platform allows/,
      );
  });

  it("allows host:port entries on exactly that port", () => {
    expect(previewProblem("https://staging.gov.example:8443/a", allowed)).toBeUndefined();
    expect(previewProblem("http://staging.gov.example:8443/a", allowed)).toBeUndefined();
    expect(previewProblem("https://staging.gov.example/a", allowed)).toMatch(
      /host staging\.gov\.example is not/,
    );
    expect(previewProblem("http://[::1]:9000/", allowed)).toBeUndefined();
    expect(previewProblem("http://[::1]:9001/", allowed)).toMatch(/not one the platform allows/);
  });

  it("refuses other schemes, credentials and hosts", () => {
    expect(previewProblem("file:///etc/passwd", allowed)).toMatch(/http or https/);
    expect(previewProblem("ws://preview.gov.example/", allowed)).toMatch(/http or https/);
    expect(previewProblem("https://user:pw@preview.gov.example/", allowed)).toMatch(/user name or password/);
    expect(previewProblem("http://169.254.169.254/latest", allowed)).toMatch(
      /host 169\.254\.169\.254 is not one the platform allows/,
    );
    expect(previewProblem("https://preview.gov.example.evil.example/", allowed)).toMatch(/is not one/);
    expect(previewProblem("not a url", allowed)).toMatch(/is not a URL/);
    expect(previewProblem("https://preview.gov.example/", [])).toMatch(/\(none\)/);
  });
});
