import { createHash } from "node:crypto";
import { tenantDeclared } from "../../policies/keys.ts";
import { type ConnectTo, sameOrigin, scanOrigin } from "../accessibility/origin-guard.ts";
import type { ScanTarget } from "../accessibility/scanner.ts";
import type { EService } from "../api/eservice.ts";
import { defaultEServiceSettings, type EServiceSettings } from "./settings.ts";

// When and what to scan, as pure functions of the EService: a rescan follows any change to what the
// scan depends on (image, pages, standard, where it is reached, a tenant's rescan request) and the
// schedule (spec.accessibility.rescanIntervalHours).

/** Digest of everything a scan result depends on. */
export function scanKey(es: EService): string {
  const a = es.spec.accessibility;
  const inputs = {
    image: es.spec.image,
    standard: a.standard,
    paths: a.paths,
    previewUrl: a.previewUrl ?? null,
    clientRendered: a.clientRendered,
    languages: a.languages,
    rescan: es.metadata.annotations?.[tenantDeclared.rescanRequest] ?? null,
  };
  return `sha256:${createHash("sha256").update(JSON.stringify(inputs)).digest("hex").slice(0, 32)}`;
}

/**
 * When the current result goes stale (undefined when there is no current result): after the rescan
 * interval, or after `incompleteRetryMs` when some pages could not be scanned.
 */
export function scanExpiresAt(
  es: EService,
  incompleteRetryMs = defaultEServiceSettings.incompleteScanRetryMs,
): Date | undefined {
  const summary = es.status?.accessibility;
  if (!summary || summary.scanKey !== scanKey(es)) return undefined;
  const interval = es.spec.accessibility.rescanIntervalHours * 3_600_000;
  return new Date(
    Date.parse(summary.scannedAt) + (summary.error ? Math.min(incompleteRetryMs, interval) : interval),
  );
}

export function scanDue(
  es: EService,
  now: Date,
  incompleteRetryMs = defaultEServiceSettings.incompleteScanRetryMs,
): boolean {
  const expires = scanExpiresAt(es, incompleteRetryMs);
  return expires === undefined || expires.getTime() <= now.getTime();
}

/**
 * Why `previewUrl` may not be scanned, or undefined when it may: it must be http(s) without credentials, on
 * a host and port the operator allows (see EServiceSettings.previewHosts).
 */
export function previewProblem(previewUrl: string, previewHosts: string[]): string | undefined {
  let url: URL;
  try {
    url = new URL(previewUrl);
  } catch {
    return `previewUrl ${previewUrl} is not a URL`;
  }
  if (url.protocol !== "http:" && url.protocol !== "https:")
    return `previewUrl must be http or https, not ${url.protocol.replace(/:$/, "")}`;
  if (url.username || url.password) return "previewUrl must not carry a user name or password";
  // An entry is a host (the scheme's default port) or host:port: the same origin rule the scan enforces.
  const allowed = previewHosts.some((entry) => {
    try {
      return sameOrigin(previewUrl, scanOrigin(`${url.protocol}//${entry.trim().toLowerCase()}`));
    } catch {
      return false;
    }
  });
  if (allowed) return undefined;
  const where = url.port ? `${url.hostname} port ${url.port}` : `host ${url.hostname}`;
  return `previewUrl ${where} is not one the platform allows the scanner to reach (${previewHosts.join(", ") || "none"}); remove previewUrl to scan the e-service in the cluster, or ask an operator to allow the host and port`;
}

/** Where the scanner reaches the pages, or why it may not. */
export function scanTarget(
  es: EService,
  internal: { url: string; connectTo?: ConnectTo },
  settings: EServiceSettings,
): { target: ScanTarget } | { problem: string } {
  const a = es.spec.accessibility;
  let site: Pick<ScanTarget, "baseUrl" | "connectTo"> = {
    baseUrl: internal.url,
    ...(internal.connectTo ? { connectTo: internal.connectTo } : {}),
  };
  if (a.previewUrl) {
    const problem = previewProblem(a.previewUrl, settings.previewHosts);
    if (problem) return { problem };
    site = { baseUrl: a.previewUrl };
  }
  return {
    target: {
      ...site,
      paths: a.paths,
      standard: a.standard,
      clientRendered: a.clientRendered,
      languages: a.languages,
    },
  };
}

interface PodView {
  metadata?: { deletionTimestamp?: string };
  spec?: { containers?: { image?: string }[] };
  status?: { phase?: string; podIP?: string; conditions?: { type: string; status: string }[] };
}

/**
 * The pod whose pages a scan of the in-cluster Service reads: a Ready, running, not terminating pod of the
 * e-service running exactly the image being judged (so a scan mid-rollout never reads an old replica).
 * Undefined when there is none yet.
 */
export function podToScan(es: EService, pods: PodView[]): ConnectTo | undefined {
  for (const pod of pods) {
    const ready = pod.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True");
    const image = pod.spec?.containers?.[0]?.image;
    const address = pod.status?.podIP;
    if (
      !pod.metadata?.deletionTimestamp &&
      pod.status?.phase === "Running" &&
      ready &&
      image === es.spec.image &&
      address
    )
      return { address, port: es.spec.port };
  }
  return undefined;
}
