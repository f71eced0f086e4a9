import Type from "typebox";
import { projectRoot } from "../../lib/local-state.ts";
import { buildGovhostImage, govhostImageContentHash } from "../image/govhost-image.ts";
import { checkRepository, pushToLocalRegistry } from "../image/push.ts";

// The govhost image in the local cloud's registry (govhost:local:Image): built from this checkout (cached by
// content hash, tools/image) and pushed, so the local stack runs what the working tree holds.

export const govhostImageType = "govhost:local:Image";

export const GovhostImageInputs = Type.Object(
  {
    registryPushAddress: Type.String({ minLength: 1 }),
    /** The cloud's work directory: a new cloud has an empty registry, so the image is pushed again. */
    cloudWorkDir: Type.String({ minLength: 1 }),
    repository: Type.String({ minLength: 1 }),
  },
  { additionalProperties: false },
);

export interface GovhostImageOutputs {
  registryPushAddress: string;
  cloudWorkDir: string;
  repository: string;
  /** The hash of what goes into the image: a new one means a new build. */
  contentHash: string;
  /** The reference pods use, pinned to the pushed manifest: registry.govhost.local/govhost/govhost:0.1.0-…@sha256:… */
  image: string;
}

/** The content hash of the image this checkout would build now. */
export function currentGovhostImageHash(): string {
  return govhostImageContentHash(projectRoot, process.execPath);
}

export function buildAndPushGovhostImage(
  inputs: { registryPushAddress: string; cloudWorkDir: string; repository: string },
  log: (line: string) => void,
): GovhostImageOutputs {
  checkRepository(inputs.repository);
  const built = buildGovhostImage({ projectRoot, progress: log });
  const pushed = pushToLocalRegistry(built, inputs.repository, inputs.registryPushAddress);
  return { ...inputs, contentHash: built.contentHash, image: `${pushed.ref}@${pushed.digest}` };
}
