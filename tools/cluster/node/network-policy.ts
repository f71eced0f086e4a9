import { execFileSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { writeKubeconfig } from "../kubeconfig.ts";
import { type ManagedProcess, startDaemon } from "../processes.ts";
import { nodeNetwork } from "./network.ts";
import type { NodeDaemonOptions } from "./pki.ts";

/**
 * NetworkPolicy enforcement on the node: kube-router's firewall controller (built from its Go module), as a
 * host process beside kube-proxy. It turns every NetworkPolicy into iptables chains in the filter table and
 * ipsets of the peers' addresses; pods on the CNI bridge are caught with the physdev match, which needs
 * bridged traffic to pass iptables (net.bridge.bridge-nf-call-iptables=1, put back on stop with the other
 * sysctls). Its router, service proxy and load balancer stay off (the published advisories of v2.1.0 are
 * all in those), and so do its health and metrics ports (v2.1.0 serves pprof on the health port).
 * Why kube-router: docs/local-cloud.md ("NetworkPolicy").
 */
export const networkPolicyEnforcer = {
  user: "system:kube-router",
  clusterRole: "govhost:kube-router-firewall",
  /** The rule kube-router writes once its first full sync is done. */
  readyRule: "rule to explicitly ACCEPT traffic that comply to network policies",
} as const;

/** Read-only: the firewall watches pods, namespaces and policies (and, in v2.1.0, services and endpoints). */
export const networkPolicyRbac = [
  {
    path: `/apis/rbac.authorization.k8s.io/v1/clusterroles/${networkPolicyEnforcer.clusterRole}`,
    body: {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "ClusterRole",
      metadata: { name: networkPolicyEnforcer.clusterRole },
      rules: [
        { apiGroups: [""], resources: ["nodes"], verbs: ["get", "list", "watch"] },
        {
          apiGroups: [""],
          resources: ["pods", "namespaces", "services", "endpoints"],
          verbs: ["list", "watch"],
        },
        { apiGroups: ["discovery.k8s.io"], resources: ["endpointslices"], verbs: ["list", "watch"] },
        { apiGroups: ["networking.k8s.io"], resources: ["networkpolicies"], verbs: ["list", "watch"] },
      ],
    },
  },
  {
    path: `/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/${networkPolicyEnforcer.clusterRole}`,
    body: {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "ClusterRoleBinding",
      metadata: { name: networkPolicyEnforcer.clusterRole },
      roleRef: {
        apiGroup: "rbac.authorization.k8s.io",
        kind: "ClusterRole",
        name: networkPolicyEnforcer.clusterRole,
      },
      subjects: [{ apiGroup: "rbac.authorization.k8s.io", kind: "User", name: networkPolicyEnforcer.user }],
    },
  },
];

export function kubeRouterArgs(o: { kubeconfig: string; nodeName: string }): string[] {
  return [
    `--kubeconfig=${o.kubeconfig}`,
    `--hostname-override=${o.nodeName}`,
    "--run-firewall=true",
    "--run-router=false",
    "--run-service-proxy=false",
    "--run-loadbalancer=false",
    "--enable-cni=false",
    "--enable-pod-egress=false",
    "--enable-ipv4=true",
    "--enable-ipv6=false",
    `--service-cluster-ip-range=${nodeNetwork.serviceCidr}`,
    "--service-node-port-range=30000-32767",
    "--health-port=0",
    "--metrics-port=0",
    "--iptables-sync-period=5m",
    "--cache-sync-timeout=1m",
    "--v=1",
  ];
}

export function startNetworkPolicyEnforcer(o: NodeDaemonOptions): ManagedProcess {
  const dir = join(o.nodeDir, "kube-router");
  mkdirSync(dir, { recursive: true });
  const kubeconfig = join(dir, "kube-router.kubeconfig");
  writeKubeconfig(kubeconfig, {
    server: o.server,
    caCert: o.pki.caCert,
    clientCert: o.pki.kubeRouterCert,
    clientKey: o.pki.kubeRouterKey,
    user: networkPolicyEnforcer.user,
  });
  // Bridged pod-to-pod traffic must pass iptables for the policies to see it (the host's value is restored
  // on stop: host-state.ts records it).
  writeFileSync("/proc/sys/net/bridge/bridge-nf-call-iptables", "1");
  return startDaemon(
    "kube-router",
    o.binary,
    kubeRouterArgs({ kubeconfig, nodeName: o.nodeName }),
    join(o.logDir, "kube-router.log"),
    { NODE_NAME: o.nodeName },
  );
}

/** `iptables -S`: the filter table's rules, one per line (its -N lines name its chains). */
export function filterTableRules(): string[] {
  return iptables(["-S"]).split("\n");
}

function iptables(args: string[]): string {
  return execFileSync("iptables", ["-w", "5", ...args], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
  });
}

/** True once kube-router's first full sync has written its chains. */
export function networkPolicyEnforced(): boolean {
  try {
    return iptables(["-S", "KUBE-ROUTER-FORWARD"]).includes(networkPolicyEnforcer.readyRule);
  } catch {
    return false;
  }
}

const ownChain = /^KUBE-(ROUTER-(INPUT|FORWARD|OUTPUT)|POD-FW-|NWPLCY-)/;
const ownIpset = /^(KUBE-SRC-|KUBE-DST-|TMP-)/;

/**
 * Removes what kube-router left (it keeps its rules on SIGTERM by design, and v2.1.0's --cleanup-config does
 * nothing for the firewall): the jumps from INPUT, FORWARD and OUTPUT, its chains, then its ipsets. Returns
 * what could not be removed.
 */
export function removeNetworkPolicyRules(): string[] {
  const problems: string[] = [];
  let rules: string[];
  try {
    rules = filterTableRules();
  } catch {
    return []; // no filter table: nothing of ours
  }
  for (const rule of rules) {
    const jump = /^-A (INPUT|FORWARD|OUTPUT) (.*-j (KUBE-ROUTER-(?:INPUT|FORWARD|OUTPUT)))$/.exec(rule);
    if (!jump) continue;
    try {
      // The rule's own words (its comment is quoted in -S output), so split as iptables-save would.
      iptables(["-D", jump[1] as string, ...splitRule(jump[2] as string)]);
    } catch (error) {
      problems.push(`iptables ${rule}: ${String(error)}`);
    }
  }
  const chains = rules
    .map((r) => /^-N (\S+)$/.exec(r)?.[1])
    .filter((c): c is string => !!c && ownChain.test(c));
  // Flushed first, all of them: the chains jump to one another, and a chain still referenced cannot go.
  for (const chain of chains) {
    try {
      iptables(["-F", chain]);
    } catch {
      // reported below when it cannot be deleted
    }
  }
  for (const chain of chains) {
    try {
      iptables(["-X", chain]);
    } catch (error) {
      problems.push(`iptables chain ${chain}: ${String(error)}`);
    }
  }
  for (const set of ipsets().filter((s) => ownIpset.test(s))) {
    try {
      execFileSync("ipset", ["destroy", set], { stdio: ["ignore", "ignore", "pipe"] });
    } catch (error) {
      problems.push(`ipset ${set}: ${String(error)}`);
    }
  }
  return problems;
}

/** The machine's ipsets by name (empty without the ipset tool). */
export function ipsets(): string[] {
  try {
    return execFileSync("ipset", ["list", "-n"], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] })
      .split("\n")
      .filter(Boolean)
      .sort();
  } catch {
    return [];
  }
}

/** Splits one rule of `iptables -S` into arguments, keeping double-quoted words (comments) whole. */
export function splitRule(rule: string): string[] {
  const words: string[] = [];
  for (const m of rule.matchAll(/"((?:[^"\\]|\\.)*)"|(\S+)/g)) words.push(m[1] ?? (m[2] as string));
  return words;
}
