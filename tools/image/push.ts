import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { localRegistry } from "../cluster/node/registry.ts";
import type { OciLayout } from "./oci-image.ts";

/** An image in the local registry: how pods reference it, and the manifest digest the push produced. */
export interface PushedImage {
  /** e.g. registry.govhost.local/govhost/demo-site:fixed */
  ref: string;
  /** sha256:... of the manifest (pin with `${ref}@${digest}` when the tag may move). */
  digest: string;
}

const repositoryPattern = /^[a-z0-9]+(?:[._-][a-z0-9]+)*(?:\/[a-z0-9]+(?:[._-][a-z0-9]+)*)*$/;

/** Checks a repository path against the OCI distribution grammar (lower case, no registry host). */
export function checkRepository(repository: string): void {
  if (!repositoryPattern.test(repository))
    throw new Error(
      `repository "${repository}" is not valid: lower-case letters, digits and single separators (. _ -), path parts joined by /, e.g. govhost/demo-site`,
    );
}

/**
 * Pushes an OCI layout to the local registry's host-only push endpoint with skopeo (plain HTTP on the
 * loopback, hence --dest-tls-verify=false; pulls go over HTTPS with the cluster CA).
 */
export function pushToLocalRegistry(image: OciLayout, repository: string, pushAddress: string): PushedImage {
  checkRepository(repository);
  const scratch = mkdtempSync(join(tmpdir(), "govhost-push-"));
  try {
    const digestFile = join(scratch, "digest");
    execFileSync(
      "skopeo",
      [
        "copy",
        "--quiet",
        "--dest-tls-verify=false",
        "--digestfile",
        digestFile,
        `oci:${image.layout}:${image.tag}`,
        `docker://${pushAddress}/${repository}:${image.tag}`,
      ],
      { stdio: ["ignore", "ignore", "pipe"], timeout: 300_000 },
    );
    return {
      ref: `${localRegistry.host}/${repository}:${image.tag}`,
      digest: readFileSync(digestFile, "utf8").trim(),
    };
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}
