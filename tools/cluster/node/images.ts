import { archiveLayout, buildOciLayout, type ImageSpec } from "../../image/oci-image.ts";
import { ctr } from "./containerd.ts";

// Images that must be in containerd before the registry can serve anything: the sandbox ("pause") image,
// imported with `ctr images import`. Every other image comes from the local registry (registry.ts).

function splitRef(ref: string): { base: string; tag: string } {
  const at = ref.lastIndexOf(":");
  if (at <= ref.lastIndexOf("/")) throw new Error(`image reference ${ref} has no tag`);
  return { base: ref.slice(0, at), tag: ref.slice(at + 1) };
}

/** Builds an image (tools/image) and imports it into the node's containerd under `ref`, for the CRI. */
export function loadImage(
  ctrBinary: string,
  socket: string,
  ref: string,
  spec: Omit<ImageSpec, "tag">,
  workDir: string,
): void {
  const { base, tag } = splitRef(ref);
  const archive = archiveLayout(buildOciLayout({ ...spec, tag }, workDir));
  ctr(ctrBinary, socket, ["images", "import", "--base-name", base, archive]);
}
