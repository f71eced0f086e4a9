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
