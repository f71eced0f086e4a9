#!/usr/bin/env bash
# Makes sure schemathesis (the OpenAPI-driven API fuzzer, from PyPI) is installed in a venv under
# ~/.cache/govhost/schemathesis, for the security test that runs it against the portal API
# (tests/security/api-schemathesis.test.ts). Idempotent: an existing install of the pinned version is reused.
#   tools/ensure-schemathesis.sh      prints nothing when it is already there
set -euo pipefail
version="${GOVHOST_SCHEMATHESIS_VERSION:-4.32.5}"
venv="${GOVHOST_CACHE:-$HOME/.cache/govhost}/schemathesis"
if [[ -x $venv/bin/schemathesis ]] && "$venv/bin/python" -c "import importlib.metadata as m, sys; sys.exit(m.version('schemathesis') != '$version')" 2>/dev/null; then
  exit 0
fi
if ! command -v python3 >/dev/null || ! python3 -c 'import ensurepip, venv' 2>/dev/null; then
  # Debian splits venv/ensurepip into python3-venv.
  if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
    echo "govhost: installing Debian packages: python3 python3-venv" >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3 python3-venv >/dev/null
  else
    echo "govhost: schemathesis needs python3 (3.9 or later) with venv; install python3 and python3-venv" >&2
    exit 1
  fi
fi
echo "govhost: installing schemathesis $version into $venv" >&2
rm -rf "$venv"
python3 -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check "schemathesis==$version"
"$venv/bin/schemathesis" --version >&2
