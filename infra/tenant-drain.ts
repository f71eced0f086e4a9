import * as pulumi from "@pulumi/pulumi";

// Every Department goes on `pulumi destroy` while the controller still runs, also those made through the
// API, which the stack does not declare (the project's `govhost` provider plugin, tools/pulumi-provider,
// deletes them and waits). Created after the controller, so destroyed before it; without it, the CRDs'
// deletion would wait forever on Departments whose finalizer nobody releases.

export interface TenantDrainArgs {
  /** The admin kubeconfig's content (kept secret). */
  kubeconfig: pulumi.Input<string>;
  context?: string;
  /** How long the controller may take to remove them all (their namespaces first). */
  timeoutSeconds: number;
}

export class TenantDrain extends pulumi.CustomResource {
  constructor(name: string, args: TenantDrainArgs, opts: pulumi.CustomResourceOptions = {}) {
    super(
      "govhost:platform:TenantDrain",
      name,
      { ...args },
      { ...opts, additionalSecretOutputs: ["kubeconfig"] },
    );
  }
}
