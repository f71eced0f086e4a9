import * as pulumi from "@pulumi/pulumi";

// The local stack's own cloud and image, as resources of the stack: the project's `govhost` provider plugin
// (tools/pulumi-provider) creates them. Only type tokens tie the program to it, so infra imports nothing from
// tools/.

export interface LocalCloudArgs {
  /** Where the cloud keeps its state and admin kubeconfig. */
  stateDir: string;
  /** Whether the cloud must run a node (pods, registry, ingress). */
  node: boolean;
}

export class LocalCloud extends pulumi.CustomResource {
  declare readonly kubeconfig: pulumi.Output<string>;
  declare readonly server: pulumi.Output<string>;
  declare readonly workDir: pulumi.Output<string>;
  declare readonly registryPushAddress: pulumi.Output<string>;
  declare readonly registryHost: pulumi.Output<string>;
  /** Where cluster DNS answers (the controller lets tenant pods reach it). */
  declare readonly clusterDnsCidrs: pulumi.Output<string[]>;

  constructor(name: string, args: LocalCloudArgs, opts: pulumi.CustomResourceOptions = {}) {
    super(
      "govhost:local:Cloud",
      name,
      {
        ...args,
        kubeconfig: undefined,
        server: undefined,
        workDir: undefined,
        registryPushAddress: undefined,
        registryHost: undefined,
        clusterDnsCidrs: undefined,
      },
      { ...opts, additionalSecretOutputs: ["kubeconfig"] },
    );
  }
}

export interface GovhostImageArgs {
  registryPushAddress: pulumi.Input<string>;
  cloudWorkDir: pulumi.Input<string>;
  repository: string;
}

/** The govhost image built from this checkout and pushed to the local cloud's registry. */
export class GovhostImage extends pulumi.CustomResource {
  /** The pinned reference pods pull (…@sha256:…). */
  declare readonly image: pulumi.Output<string>;

  constructor(name: string, args: GovhostImageArgs, opts: pulumi.CustomResourceOptions = {}) {
    super("govhost:local:Image", name, { ...args, image: undefined, contentHash: undefined }, opts);
  }
}
