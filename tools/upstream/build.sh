#!/usr/bin/env bash
# Builds the upstream binaries govhost needs from their Go modules, pinned in versions.env.
#   tools/upstream/build.sh [kubernetes|kubernetes-node|containerd|coredns|traefik|metrics-server|kube-router|etcd|pulumi|pulumi-kubernetes|prometheus|kwok|all]
#   (default: all)
# Output: $GOVHOST_CACHE/bin/<group>-<version>/ (default ~/.cache/govhost), reused when present. Binaries on
# PATH or in $KUBEBUILDER_ASSETS are preferred over building: tools/upstream/binaries.ts decides that and
# calls this script only for what is missing. Module and build caches live under the same directory.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=versions.env
source "$here/versions.env"
cache=${GOVHOST_CACHE:-$HOME/.cache/govhost}
export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-buildvcs=false
export GOMODCACHE=${GOMODCACHE:-$cache/gomod} GOCACHE=${GOCACHE:-$cache/gobuild}

log() { printf '[upstream %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
need() { command -v "$1" >/dev/null || { log "missing '$1': $2"; exit 1; }; }
go_minor() { go env GOVERSION | sed -E 's/^go1\.([0-9]+).*/\1/'; }
need go "install Go >= 1.26 (https://go.dev/dl) or put it on PATH"
(( $(go_minor) >= 26 )) || { log "Go $(go env GOVERSION) is too old: Kubernetes ${KUBERNETES_VERSION} needs Go >= 1.26"; exit 1; }
"$here/../ensure-system-packages.sh" jq

# Runs a long go command with a heartbeat so a cold build visibly progresses.
with_heartbeat() {
  local label=$1; shift
  local start=$SECONDS
  "$@" &
  local pid=$!
  local next=30
  while kill -0 "$pid" 2>/dev/null; do
    sleep 1
    if (( SECONDS - start >= next )); then
      log "$label: still working ($(( (SECONDS - start) / 60 )) min $(( (SECONDS - start) % 60 )) s so far)"
      next=$(( next + 30 ))
    fi
  done
  wait "$pid"
}

# Holds an exclusive lock named $1 for the rest of this script, so two runs (two worktrees, two test runs)
# never build the same thing at once: the second waits, then finds the first one's result cached.
lock_build() {
  mkdir -p "$cache/build"
  exec {lock_fd}>"$cache/build/$1.lock"
  if ! flock -n "$lock_fd"; then
    log "$1: another build holds $cache/build/$1.lock; waiting for it"
    flock "$lock_fd"
  fi
}

# Moves a finished build ($2.tmp) into place at $2, recording how long it took since $3 (SECONDS).
install_build() {
  local label=$1 out=$2 started=$3
  echo $(( SECONDS - started )) >"$out.tmp/build-seconds"
  rm -rf "$out" && mv "$out.tmp" "$out"
  log "$label: built into $out in $(( (SECONDS - started) / 60 )) min"
}

# Writes a one-purpose module under $1 that requires $2@$3; extra go.mod lines come on stdin.
new_module() {
  local dir=$1 mod=$2 ver=$3
  rm -rf "$dir" && mkdir -p "$dir"
  {
    echo "module govhost.local/upstream/$(basename "$dir")"
    echo
    echo "go $(go env GOVERSION | sed -E 's/^go([0-9]+\.[0-9]+).*/\1/')"
    echo
    echo "require $mod $ver"
    cat
  } >"$dir/go.mod"
}

# The generated module that builds Kubernetes commands: every staging module replaced by its released
# version, upstream's godebug lines, and a tools.go naming every command govhost builds. Written into $1.
kubernetes_module() {
  local work=$1 ver=$KUBERNETES_VERSION minor_patch=${KUBERNETES_VERSION#v1.}
  if [[ -f $work/go.sum && -f $work/tools.go ]] && grep -q cmd/kubelet "$work/tools.go"; then return; fi
  log "kubernetes $ver: resolving upstream go.mod"
  local gomod
  gomod=$(cd /tmp && go mod download -json "k8s.io/kubernetes@$ver" | jq -r .GoMod)
  # Upstream replaces every staging module with a local path; a module-mode build needs the released
  # staging versions instead (k8s.io/<m> v0.<minor>.<patch>). Generated, so new staging modules follow.
  {
    go mod edit -json "$gomod" | jq -r --arg v "v0.$minor_patch" \
      '.Replace[] | select(.New.Path | startswith("./staging/")) | "replace \(.Old.Path) => \(.Old.Path) \($v)"'
    go mod edit -json "$gomod" | jq -r '(.GoDebug // [])[] | "godebug \(.Key)=\(.Value)"'
  } | new_module "$work" k8s.io/kubernetes "$ver"
  cat >"$work/tools.go" <<'GO'
//go:build tools

package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-proxy"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
	_ "k8s.io/kubernetes/cmd/kubectl"
	_ "k8s.io/kubernetes/cmd/kubelet"
)
GO
  log "kubernetes $ver: downloading modules (several hundred MB on a cold cache)"
  (cd "$work" && with_heartbeat "kubernetes download" go mod tidy -e >/dev/null)
}

# Builds the Kubernetes commands $3... into $2 (a group directory of the cache) with version stamps.
build_kubernetes_group() {
  local group=$1 out=$2; shift 2
  local ver=$KUBERNETES_VERSION minor_patch=${KUBERNETES_VERSION#v1.}
  local missing=() cmd
  for cmd in "$@"; do [[ -x $out/$cmd ]] || missing+=("$cmd"); done
  if (( ${#missing[@]} == 0 )); then log "$group $ver: cached in $out"; return; fi
  lock_build "kubernetes-$ver"
  missing=()
  for cmd in "$@"; do [[ -x $out/$cmd ]] || missing+=("$cmd"); done
  if (( ${#missing[@]} == 0 )); then log "$group $ver: built by another run into $out"; return; fi
  local work="$cache/build/kubernetes-$ver" started=$SECONDS
  kubernetes_module "$work"
  local pkg=k8s.io/component-base/version
  local ldflags="-s -w -X $pkg.gitVersion=$ver -X $pkg.gitMajor=1 -X $pkg.gitMinor=${minor_patch%%.*}"
  ldflags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  ldflags+=" -X k8s.io/client-go/pkg/version.gitVersion=$ver"
  log "$group $ver: compiling ${missing[*]}"
  rm -rf "$out.tmp" && mkdir -p "$out.tmp"
  local pkgs=()
  for cmd in "${missing[@]}"; do pkgs+=("k8s.io/kubernetes/cmd/$cmd"); done
  (cd "$work" && with_heartbeat "$group build" go build -trimpath -tags tools -ldflags "$ldflags" -o "$out.tmp/" "${pkgs[@]}")
  if [[ -d $out ]]; then
    # Other runs may be executing binaries of $out right now: add each new file by an atomic rename and
    # never remove or rewrite what is there.
    for cmd in "${missing[@]}"; do mv -f "$out.tmp/$cmd" "$out/$cmd"; done
    rm -rf "$out.tmp"
    log "$group $ver: added ${missing[*]} to $out in $(( (SECONDS - started) / 60 )) min $(( (SECONDS - started) % 60 )) s"
  else
    install_build "$group $ver" "$out" "$started"
  fi
}

build_kubernetes() {
  build_kubernetes_group kubernetes "$cache/bin/kubernetes-$KUBERNETES_VERSION" \
    kube-apiserver kube-controller-manager kube-scheduler
}

# The node's Kubernetes commands, in their own cache directory (same module, same build cache).
build_kubernetes_node() {
  build_kubernetes_group kubernetes-node "$cache/bin/kubernetes-node-$KUBERNETES_VERSION" kubelet kube-proxy kubectl
}

# containerd 2.x (the kubelet's container runtime; Debian's 1.6 is too old for Kubernetes 1.36+). Without
# cgo and the btrfs, devmapper and zfs snapshotters (overlayfs is the one used).
build_containerd() {
  local ver=$CONTAINERD_VERSION out="$cache/bin/containerd-$CONTAINERD_VERSION"
  local bins=(containerd ctr containerd-shim-runc-v2) b
  local have=1
  for b in "${bins[@]}"; do [[ -x $out/$b ]] || have=0; done
  if (( have )); then log "containerd $ver: cached in $out"; return; fi
  lock_build "containerd-$ver"
  [[ -x $out/containerd-shim-runc-v2 ]] && { log "containerd $ver: built by another run"; return; }
  local mod=github.com/containerd/containerd/v2 work="$cache/build/containerd-$ver" started=$SECONDS
  new_module "$work" "$mod" "$ver" </dev/null
  cat >"$work/tools.go" <<'GO'
//go:build tools

package tools

import (
	_ "github.com/containerd/containerd/v2/cmd/containerd"
	_ "github.com/containerd/containerd/v2/cmd/containerd-shim-runc-v2"
	_ "github.com/containerd/containerd/v2/cmd/ctr"
)
GO
  log "containerd $ver: downloading modules"
  (cd "$work" && with_heartbeat "containerd download" go mod tidy -e >/dev/null)
  log "containerd $ver: compiling containerd, ctr, containerd-shim-runc-v2 (cold: about 4.5 min on 2 cores)"
  rm -rf "$out.tmp" && mkdir -p "$out.tmp"
  (cd "$work" && with_heartbeat "containerd build" go build -trimpath -tags "no_btrfs no_devmapper no_zfs" \
    -ldflags "-s -w -X $mod/version.Version=$ver -X $mod/version.Revision=govhost" -o "$out.tmp/" \
    "$mod/cmd/containerd" "$mod/cmd/ctr" "$mod/cmd/containerd-shim-runc-v2")
  install_build "containerd $ver" "$out" "$started"
}

# CoreDNS, the cluster DNS server (its default plugin set, as upstream builds it).
build_coredns() {
  local ver=$COREDNS_VERSION out="$cache/bin/coredns-$COREDNS_VERSION"
  if [[ -x $out/coredns ]]; then log "coredns $ver: cached in $out"; return; fi
  lock_build "coredns-$ver"
  [[ -x $out/coredns ]] && { log "coredns $ver: built by another run"; return; }
  local mod=github.com/coredns/coredns work="$cache/build/coredns-$ver" started=$SECONDS
  new_module "$work" "$mod" "$ver" </dev/null
  cat >"$work/tools.go" <<'GO'
//go:build tools

package tools

import _ "github.com/coredns/coredns"
GO
  log "coredns $ver: downloading modules"
  (cd "$work" && with_heartbeat "coredns download" go mod tidy -e >/dev/null)
  log "coredns $ver: compiling"
  rm -rf "$out.tmp" && mkdir -p "$out.tmp"
  (cd "$work" && with_heartbeat "coredns build" go build -trimpath \
    -ldflags "-s -w -X $mod/coremain.GitCommit=$ver" -o "$out.tmp/coredns" "$mod")
  install_build "coredns $ver" "$out" "$started"
}

# Traefik, the ingress controller (its pod's image is built from this static binary). Built as its own main
# module from a copy of the module zip, because its go.mod replaces three dependencies with Containous forks
# and a dependency's replaces are ignored. v3.7 cannot be built from the Go module proxy at all: it imports a
# nested module (github.com/traefik/traefik/dynamic/ext) that the proxy does not serve.
build_traefik() {
  local ver=$TRAEFIK_VERSION out="$cache/bin/traefik-$TRAEFIK_VERSION"
  if [[ -x $out/traefik ]]; then log "traefik $ver: cached in $out"; return; fi
  lock_build "traefik-$ver"
  [[ -x $out/traefik ]] && { log "traefik $ver: built by another run"; return; }
  local mod=github.com/traefik/traefik/v3 work="$cache/build/traefik-$ver" started=$SECONDS
  log "traefik $ver: downloading the module"
  local dir
  dir=$(cd /tmp && go mod download -json "$mod@$ver" | jq -r .Dir)
  rm -rf "$work" && cp -r "$dir" "$work" && chmod -R u+w "$work"
  (cd "$work" && go mod edit -toolchain=none)
  log "traefik $ver: downloading modules"
  (cd "$work" && with_heartbeat "traefik download" go mod download)
  log "traefik $ver: compiling (cold: several minutes on 2 cores)"
  rm -rf "$out.tmp" && mkdir -p "$out.tmp"
  (cd "$work" && with_heartbeat "traefik build" go build -trimpath \
    -ldflags "-s -w -X $mod/pkg/version.Version=$ver -X $mod/pkg/version.Codename=govhost" \
    -o "$out.tmp/traefik" ./cmd/traefik)
  install_build "traefik $ver" "$out" "$started"
}

# metrics-server, the resource metrics API (metrics.k8s.io) through API aggregation; its pod's image is built
# from this static binary.
build_metrics_server() {
  local ver=$METRICS_SERVER_VERSION out="$cache/bin/metrics-server-$METRICS_SERVER_VERSION"
  if [[ -x $out/metrics-server ]]; then log "metrics-server $ver: cached in $out"; return; fi
  lock_build "metrics-server-$ver"
  [[ -x $out/metrics-server ]] && { log "metrics-server $ver: built by another run"; return; }
  local mod=sigs.k8s.io/metrics-server work="$cache/build/metrics-server-$ver" started=$SECONDS
  new_module "$work" "$mod" "$ver" </dev/null
  cat >"$work/tools.go" <<'GO'
//go:build tools

package tools

import _ "sigs.k8s.io/metrics-server/cmd/metrics-server"
GO
  log "metrics-server $ver: downloading modules"
  (cd "$work" && with_heartbeat "metrics-server download" go mod tidy -e >/dev/null)
  log "metrics-server $ver: compiling"
  rm -rf "$out.tmp" && mkdir -p "$out.tmp"
  (cd "$work" && with_heartbeat "metrics-server build" go build -trimpath \
    -ldflags "-s -w -X k8s.io/client-go/pkg/version.gitVersion=$ver" -o "$out.tmp/metrics-server" "$mod/cmd/metrics-server")
  install_build "metrics-server $ver" "$out" "$started"
}

# kube-router, only its network policy firewall (iptables + ipset), the node's NetworkPolicy enforcer. v2.1.0
# is the only version the Go module proxy serves. Built from a wrapper module that raises the dependencies
# with published advisories on the paths it runs (x/net's HTTP/2 client, gRPC, protobuf, x/text, the docker
# client); every version `go mod tidy` would otherwise resolve at latest is pinned too, so builds repeat.
build_kube_router() {
  local ver=$KUBE_ROUTER_VERSION out="$cache/bin/kube-router-$KUBE_ROUTER_VERSION"
  if [[ -x $out/kube-router ]]; then log "kube-router $ver: cached in $out"; return; fi
  lock_build "kube-router-$ver"
  [[ -x $out/kube-router ]] && { log "kube-router $ver: built by another run"; return; }
  local mod=github.com/cloudnativelabs/kube-router/v2 work="$cache/build/kube-router-$ver" started=$SECONDS
  new_module "$work" "$mod" "$ver" <<'MOD'
require (
	github.com/Azure/go-ansiterm v0.0.0-20261006220739-8c912ac31dd4
	github.com/cenkalti/backoff/v4 v4.3.0
	github.com/docker/docker v25.0.6+incompatible
	go.opentelemetry.io/otel/exporters/otlp/otlptrace v1.47.0
	go.opentelemetry.io/proto/otlp v1.11.1
	golang.org/x/net v0.59.0
	golang.org/x/oauth2 v0.36.0
	golang.org/x/text v0.42.0
	google.golang.org/genproto/googleapis/rpc v0.0.0-20260928230214-8a89bd6388cc
	google.golang.org/grpc v1.84.0
	google.golang.org/protobuf v1.36.12
)
MOD
  cat >"$work/tools.go" <<'GO'
//go:build tools

package tools

import _ "github.com/cloudnativelabs/kube-router/v2/cmd/kube-router"
GO
  log "kube-router $ver: downloading modules"
  (cd "$work" && with_heartbeat "kube-router download" go mod tidy -e >/dev/null)
  log "kube-router $ver: compiling"
  rm -rf "$out.tmp" && mkdir -p "$out.tmp"
  (cd "$work" && with_heartbeat "kube-router build" go build -trimpath \
    -ldflags "-s -w -X $mod/pkg/version.Version=$ver" -o "$out.tmp/kube-router" "$mod/cmd/kube-router")
  install_build "kube-router $ver" "$out" "$started"
}

build_etcd() {
  local ver=$ETCD_VERSION out="$cache/bin/etcd-$ETCD_VERSION"
  if [[ -x $out/etcd ]]; then log "etcd $ver: cached in $out"; return; fi
  local work="$cache/build/etcd-$ver" started=$SECONDS
  # etcd's own replaces point at sibling directories; its requires already name the released versions.
  new_module "$work" go.etcd.io/etcd/server/v3 "$ver" </dev/null
  cat >"$work/tools.go" <<'GO'
//go:build tools

package tools

import _ "go.etcd.io/etcd/server/v3"
GO
  log "etcd $ver: downloading modules"
  (cd "$work" && with_heartbeat "etcd download" go mod tidy -e >/dev/null)
  log "etcd $ver: compiling"
  mkdir -p "$out.tmp"
  (cd "$work" && with_heartbeat "etcd build" go build -trimpath -ldflags "-s -w" -o "$out.tmp/etcd" go.etcd.io/etcd/server/v3)
  install_build "etcd $ver" "$out" "$started"
}

build_pulumi() {
  local ver=$PULUMI_VERSION out="$cache/bin/pulumi-$PULUMI_VERSION"
  if [[ -x $out/pulumi ]]; then log "pulumi $ver: cached in $out"; return; fi
  lock_build "pulumi-$ver"
  [[ -x $out/pulumi ]] && { log "pulumi $ver: built by another run"; return; }
  local work="$cache/build/pulumi-$ver" started=$SECONDS
  # The CLI's clipboard dependency moved to a fork upstream (pkg/v3's own go.mod replaces it).
  new_module "$work" github.com/pulumi/pulumi/pkg/v3 "$ver" <<MOD
require github.com/pulumi/pulumi/sdk/v3 $ver
replace github.com/atotto/clipboard => github.com/tgummerer/clipboard v0.0.0-20241001131231-d02d263e614e
MOD
  cat >"$work/tools.go" <<'GO'
//go:build tools

package tools

import _ "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi"
GO
  log "pulumi $ver: downloading modules"
  (cd "$work" && with_heartbeat "pulumi download" go mod tidy -e >/dev/null)
  log "pulumi $ver: compiling the CLI (cold: about 7 min on 2 cores)"
  rm -rf "$out.tmp" && mkdir -p "$out.tmp"
  (cd "$work" && with_heartbeat "pulumi build" go build -trimpath -tags osusergo \
    -ldflags "-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$ver" \
    -o "$out.tmp/pulumi" github.com/pulumi/pulumi/pkg/v3/cmd/pulumi)
  install_build "pulumi $ver" "$out" "$started"
}

build_pulumi_kubernetes() {
  local ver=$PULUMI_KUBERNETES_VERSION out="$cache/bin/pulumi-kubernetes-$PULUMI_KUBERNETES_VERSION"
  if [[ -x $out/pulumi-resource-kubernetes ]]; then log "pulumi-kubernetes $ver: cached in $out"; return; fi
  lock_build "pulumi-kubernetes-$ver"
  [[ -x $out/pulumi-resource-kubernetes ]] && { log "pulumi-kubernetes $ver: built by another run"; return; }
  local mod=github.com/pulumi/pulumi-kubernetes/provider/v4 work="$cache/build/pulumi-kubernetes-$ver"
  local started=$SECONDS
  log "pulumi-kubernetes $ver: downloading the provider module"
  local info
  info=$(cd /tmp && GONOSUMDB=github.com/pulumi/pulumi-kubernetes go mod download -json "$mod@$ver")
  local sum
  sum=$(jq -r .Sum <<<"$info")
  if [[ $sum != "$PULUMI_KUBERNETES_SUM" ]]; then
    log "pulumi-kubernetes $ver: module hash $sum is not the pinned $PULUMI_KUBERNETES_SUM"; exit 1
  fi
  # The provider is built as its own main module (its main package embeds a schema generated from the
  # sources), so a copy is edited: its replace of the SDK points at a sibling directory the module zip
  # lacks, and the SDK version it requires is served.
  rm -rf "$work" && cp -r "$(jq -r .Dir <<<"$info")" "$work" && chmod -R u+w "$work"
  (cd "$work" && go mod edit -dropreplace=github.com/pulumi/pulumi-kubernetes/sdk/v4 -toolchain=none)
  log "pulumi-kubernetes $ver: downloading modules"
  (cd "$work" && with_heartbeat "pulumi-kubernetes download" go mod download)
  local plain=${ver#v}
  (cd "$work/cmd/pulumi-resource-kubernetes" && VERSION=$plain GOFLAGS="$GOFLAGS -mod=mod" go run ./generate.go)
  log "pulumi-kubernetes $ver: compiling the provider (cold: about 10 min on 2 cores)"
  rm -rf "$out.tmp" && mkdir -p "$out.tmp"
  (cd "$work" && with_heartbeat "pulumi-kubernetes build" go build -trimpath -mod=mod \
    -ldflags "-s -w -X $mod/pkg/version.Version=$plain" \
    -o "$out.tmp/pulumi-resource-kubernetes" ./cmd/pulumi-resource-kubernetes)
  install_build "pulumi-kubernetes $ver" "$out" "$started"
}

# Prometheus, the local cloud's metrics server: it finds the platform's pods through the API server
# (kubernetes_sd_configs, which Debian's prometheus package is built without) and scrapes them. Built with
# `go install` from its Go module (v0.3xx.y is Prometheus 3.xx.y); the web UI's assets are not in the
# module, so it serves its HTTP API and no UI.
build_prometheus() {
  local ver=$PROMETHEUS_VERSION out="$cache/bin/prometheus-$PROMETHEUS_VERSION"
  if [[ -x $out/prometheus ]]; then log "prometheus $ver: cached in $out"; return; fi
  lock_build "prometheus-$ver"
  [[ -x $out/prometheus ]] && { log "prometheus $ver: built by another run"; return; }
  local mod=github.com/prometheus/prometheus started=$SECONDS
  log "prometheus $ver: downloading modules and compiling (cold: about 7 minutes on 2 cores)"
  rm -rf "$out.tmp" && mkdir -p "$out.tmp"
  (cd /tmp && GOBIN="$out.tmp" with_heartbeat "prometheus build" go install -trimpath \
    -ldflags "-s -w -X github.com/prometheus/common/version.Version=$ver -X github.com/prometheus/common/version.Branch=govhost" \
    "$mod/cmd/prometheus@$ver")
  install_build "prometheus $ver" "$out" "$started"
}

# kwok (the scale bench's simulated nodes and pods; not part of `all`, which is what the cloud and the tests
# need) and the stages it runs, copied from its module: a node becomes Ready and keeps its lease, a pod on
# one becomes Running, and a deleted one goes.
build_kwok() {
  local ver=$KWOK_VERSION out="$cache/bin/kwok-$KWOK_VERSION"
  if [[ -x $out/kwok ]]; then log "kwok $ver: cached in $out"; return; fi
  lock_build "kwok-$ver"
  [[ -x $out/kwok ]] && { log "kwok $ver: built by another run"; return; }
  local mod=sigs.k8s.io/kwok started=$SECONDS
  log "kwok $ver: downloading modules and compiling"
  rm -rf "$out.tmp" && mkdir -p "$out.tmp/stages"
  (cd /tmp && GOBIN="$out.tmp" with_heartbeat "kwok build" go install -trimpath \
    -ldflags "-s -w -X sigs.k8s.io/kwok/pkg/consts.Version=$ver" "$mod/cmd/kwok@$ver")
  local src
  src=$(cd /tmp && go mod download -json "$mod@$ver" | jq -r .Dir)
  cp "$src/kustomize/stage/node/fast/node-initialize.yaml" \
    "$src/kustomize/stage/node/heartbeat-with-lease/node-heartbeat-with-lease.yaml" \
    "$src/kustomize/stage/pod/fast/pod-ready.yaml" "$src/kustomize/stage/pod/fast/pod-complete.yaml" \
    "$src/kustomize/stage/pod/fast/pod-delete.yaml" "$out.tmp/stages/"
  chmod u+w "$out.tmp/stages/"*
  install_build "kwok $ver" "$out" "$started"
}

case ${1:-all} in
  kubernetes) build_kubernetes ;;
  kubernetes-node) build_kubernetes_node ;;
  containerd) build_containerd ;;
  coredns) build_coredns ;;
  traefik) build_traefik ;;
  metrics-server) build_metrics_server ;;
  kube-router) build_kube_router ;;
  etcd) build_etcd ;;
  pulumi) build_pulumi ;;
  pulumi-kubernetes) build_pulumi_kubernetes ;;
  prometheus) build_prometheus ;;
  kwok) build_kwok ;;
  # Each group in its own subshell: a group's build lock (lock_build) is held until its shell exits, and
  # kubernetes and kubernetes-node take the same lock.
  all) for group in etcd kubernetes kubernetes_node containerd coredns traefik metrics_server kube_router \
      pulumi pulumi_kubernetes prometheus; do ("build_$group"); done ;;
  *) echo "usage: $0 [kubernetes|kubernetes-node|containerd|coredns|traefik|metrics-server|kube-router|etcd|pulumi|pulumi-kubernetes|prometheus|kwok|all]" >&2
    exit 2 ;;
esac
