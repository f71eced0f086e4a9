#!/usr/bin/env bash
# Builds the upstream binaries govhost needs from their Go modules, pinned in versions.env.
#   tools/upstream/build.sh [kubernetes|etcd|pulumi|pulumi-kubernetes|all]   (default: all)
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

build_kubernetes() {
  local ver=$KUBERNETES_VERSION out="$cache/bin/kubernetes-$KUBERNETES_VERSION"
  if [[ -x $out/kube-apiserver && -x $out/kube-controller-manager && -x $out/kube-scheduler ]]; then
    log "kubernetes $ver: cached in $out"; return
  fi
  local minor_patch=${ver#v1.} work="$cache/build/kubernetes-$ver" started=$SECONDS
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
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
)
GO
  log "kubernetes $ver: downloading modules (several hundred MB on a cold cache)"
  (cd "$work" && with_heartbeat "kubernetes download" go mod tidy -e >/dev/null)
  local pkg=k8s.io/component-base/version
  local ldflags="-s -w -X $pkg.gitVersion=$ver -X $pkg.gitMajor=1 -X $pkg.gitMinor=${minor_patch%%.*}"
  ldflags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  ldflags+=" -X k8s.io/client-go/pkg/version.gitVersion=$ver"
  log "kubernetes $ver: compiling kube-apiserver, kube-controller-manager, kube-scheduler (cold: about 7 min on 2 cores)"
  mkdir -p "$out.tmp"
  (cd "$work" && with_heartbeat "kubernetes build" go build -trimpath -tags tools -ldflags "$ldflags" -o "$out.tmp/" \
    k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager k8s.io/kubernetes/cmd/kube-scheduler)
  install_build "kubernetes $ver" "$out" "$started"
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
  mkdir -p "$out.tmp"
  (cd "$work" && with_heartbeat "pulumi build" go build -trimpath -tags osusergo \
    -ldflags "-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$ver" \
    -o "$out.tmp/pulumi" github.com/pulumi/pulumi/pkg/v3/cmd/pulumi)
  install_build "pulumi $ver" "$out" "$started"
}

build_pulumi_kubernetes() {
  local ver=$PULUMI_KUBERNETES_VERSION out="$cache/bin/pulumi-kubernetes-$PULUMI_KUBERNETES_VERSION"
  if [[ -x $out/pulumi-resource-kubernetes ]]; then log "pulumi-kubernetes $ver: cached in $out"; return; fi
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
  mkdir -p "$out.tmp"
  (cd "$work" && with_heartbeat "pulumi-kubernetes build" go build -trimpath -mod=mod \
    -ldflags "-s -w -X $mod/pkg/version.Version=$plain" \
    -o "$out.tmp/pulumi-resource-kubernetes" ./cmd/pulumi-resource-kubernetes)
  install_build "pulumi-kubernetes $ver" "$out" "$started"
}

case ${1:-all} in
  kubernetes) build_kubernetes ;;
  etcd) build_etcd ;;
  pulumi) build_pulumi ;;
  pulumi-kubernetes) build_pulumi_kubernetes ;;
  all) build_etcd; build_kubernetes; build_pulumi; build_pulumi_kubernetes ;;
  *) echo "usage: $0 [kubernetes|etcd|pulumi|pulumi-kubernetes|all]" >&2; exit 2 ;;
esac
