import { describe, expect, it } from "vitest";
import { specFromArgs } from "../../tools/image/cli.ts";
import { buildOciLayout } from "../../tools/image/oci-image.ts";
import { checkRepository } from "../../tools/image/push.ts";

describe("the image tool's input", () => {
  it("turns the arguments into an image spec and a repository", () => {
    const { repository, spec } = specFromArgs([
      ...["--name", "govhost/demo-site:1.0.0", "--add", "/srv/site:/srv/www", "--busybox", "/bin/busybox"],
      ...["--entrypoint", '["httpd","-f"]', "--user", "65532", "--port", "8080"],
    ]);
    expect(repository).toBe("govhost/demo-site");
    expect(spec).toEqual({
      tag: "1.0.0",
      files: { "/srv/site": "/srv/www" },
      busyboxApplets: "/bin/busybox",
      entrypoint: ["httpd", "-f"],
      user: 65532,
      ports: [8080],
    });
  });

  it("refuses repositories and tags that are not valid references, before building anything", () => {
    expect(() => checkRepository("Govhost/Site")).toThrow(/lower-case/);
    expect(() => checkRepository("registry.govhost.local:5000/x")).toThrow(/not valid/);
    expect(() => checkRepository("../../etc")).toThrow(/not valid/);
    expect(() => buildOciLayout({ tag: "../escape", files: {} }, "/nonexistent")).toThrow(/tag "..\/escape"/);
    const build = (files: Record<string, string>) => () =>
      buildOciLayout({ tag: "1.0", files }, "/nonexistent");
    expect(build({ "/bin/sh": "relative/sh" })).toThrow(/must be absolute/);
    expect(build({ "/bin/sh": "/../../sh" })).toThrow(/without "\.\."/);
    expect(build({ "/no/such/file": "/x" })).toThrow(/does not exist/);
  });
});
