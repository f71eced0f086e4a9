#!/usr/bin/env bash
# Makes sure the named commands exist; installs the Debian packages that provide them when running as root
# with apt-get (as CI and the project's machines do), otherwise says exactly what to install.
#   tools/ensure-system-packages.sh openssl jq ...      (command names; package name = command name unless mapped)
# An argument starting with / is a file that must exist (for packages that put nothing on PATH).
set -euo pipefail
declare -A package_of=(
  [chromium]=chromium [prometheus]=prometheus
  # The node (tools/cluster/node): runtime, CNI plugins, the pause process, kube-proxy's and the cleanup's
  # netfilter tools, ipset for NetworkPolicy enforcement (kube-router), image building and pushing (umoci, skopeo), the local registry (docker-registry).
  [/usr/lib/cni/bridge]=containernetworking-plugins [nft]=nftables [busybox]=busybox-static
  [ip]=iproute2 [chroot]=coreutils
  # A font with Chinese characters, for the README's screenshots of the Traditional Chinese pages.
  [/usr/share/fonts/truetype/wqy/wqy-microhei.ttc]=fonts-wqy-microhei
)
missing=()
for cmd in "$@"; do
  if [[ $cmd == /* ]]; then
    [[ -e $cmd ]] || missing+=("${package_of[$cmd]:?no package known for $cmd}")
  else
    command -v "$cmd" >/dev/null 2>&1 || missing+=("${package_of[$cmd]:-$cmd}")
  fi
done
[[ ${#missing[@]} -eq 0 ]] && exit 0
if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
  echo "govhost: installing Debian packages: ${missing[*]}" >&2
  stamp=/var/lib/apt/lists/.govhost-updated
  if [[ ! -e $stamp ]] || [[ -n $(find "$stamp" -mmin +1440 2>/dev/null) ]]; then
    apt-get update -qq && touch "$stamp"
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "govhost: missing commands; install these packages first: ${missing[*]}" >&2
  exit 1
fi
