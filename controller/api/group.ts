/** The API group and version of every govhost custom resource. */
export const group = "govhost.io";
export const version = "v1alpha1";
export const apiVersion = `${group}/${version}`;

/** Platform-owned label and annotation keys: set by govhost only, never trusted from tenants. */
export const labels = {
  department: "govhost.io/department",
  environment: "govhost.io/environment",
  managedBy: "app.kubernetes.io/managed-by",
  component: "govhost.io/component",
} as const;

export const managedByValue = "govhost";
export const fieldManager = "govhost-controller";

/** The namespace of a department environment (environment names have no hyphen, so it names one pair). */
export function namespaceName(department: string, environment: string): string {
  return `${department}-${environment}`;
}

/** The platform-owned labels on a department environment's namespace and everything in it. */
export function childLabels(department: string, environment: string): Record<string, string> {
  return {
    [labels.department]: department,
    [labels.environment]: environment,
    [labels.managedBy]: managedByValue,
  };
}

/** The reference that makes a govhost object the controlling owner of what it renders (collected with it). */
export function controllerReference(kind: string, owner: { metadata: { name?: string; uid?: string } }) {
  return {
    apiVersion,
    kind,
    name: owner.metadata.name as string,
    uid: owner.metadata.uid as string,
    controller: true,
    blockOwnerDeletion: true,
  };
}
