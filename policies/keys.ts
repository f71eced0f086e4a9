// Label and annotation keys, in two visibly separate kinds:
// - tenant-declared: a department states something about its workload (it is accountable for it);
// - platform-owned: govhost sets them and relies on them for ownership, scoping or trust; tenants may never
//   add, change or remove them (baseline rule GH-META-001).

/** Keys a department sets on its own workloads. */
export const tenantDeclared = {
  dataClassification: "govhost.io/data-classification",
  writableRootFilesystemJustification: "govhost.io/writable-rootfs-justification",
  /** On an EService: any new value asks for an accessibility rescan now. */
  rescanRequest: "govhost.io/rescan-requested",
} as const;

/** Keys only the platform writes. Anything else under a govhost.io domain is platform-owned too. */
export const platformOwned = {
  department: "govhost.io/department",
  environment: "govhost.io/environment",
  managedBy: "app.kubernetes.io/managed-by",
  maxDataClassification: "govhost.io/max-data-classification",
  domains: "govhost.io/domains",
  /** On a tenant namespace: the department's groups, the only groups its role bindings may name. */
  groups: "govhost.io/groups",
  /** On a tenant namespace: the department's admin groups (who may publish, GH-PUB-001). */
  adminGroups: "govhost.io/admin-groups",
  eservice: "govhost.io/eservice",
  /** On the objects of a shared-service instance: the catalogue entry it comes from. */
  sharedService: "govhost.io/shared-service",
  scanResult: "govhost.io/accessibility-scan",
  exemption: "govhost.io/exempt",
} as const;

export const dataClassificationLevels = ["UNCLASSIFIED", "RESTRICTED", "CONFIDENTIAL"] as const;

/** Is `key` platform-owned? The same test as isPlatformKeyCel, for code that prepares what tenants send. */
export function isPlatformKey(key: string): boolean {
  const tenantKeys: readonly string[] = Object.values(tenantDeclared);
  const platformDomain =
    key === platformOwned.managedBy ||
    key.startsWith("govhost.io/") ||
    /^[a-z0-9.-]+\.govhost\.io\//.test(key);
  return platformDomain && !tenantKeys.includes(key);
}

/** CEL: is `k` a platform-owned key? (govhost.io domains and managed-by, minus the tenant-declared keys) */
export const isPlatformKeyCel = `(k == '${platformOwned.managedBy}' || k.startsWith('govhost.io/') || k.matches('^[a-z0-9.-]+\\\\.govhost\\\\.io/')) && !(k in [${Object.values(
  tenantDeclared,
)
  .map((key) => `'${key}'`)
  .join(", ")}])`;
