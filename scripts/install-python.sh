#!/usr/bin/env bash
# The seed-style service's Python (integration/seedservice/app): a virtual environment under
# RECOBS_CACHE with requirements.txt's pinned packages from PyPI, made once per requirements
# file. Prints the environment's python. Uses the machine's python3 (3.9 or newer); where it
# has no venv module, Debian's python3-venv is installed.
source "$(dirname "$0")/lib.sh"

req="$RECOBS_ROOT/integration/seedservice/app/requirements.txt"
sum=$(sha256sum "$req" | cut -c1-12)
venv="$RECOBS_CACHE/venv-seed-$sum"
if [[ -f "$venv/.complete" ]]; then
  echo "$venv/bin/python"
  exit 0
fi

py=$(command -v python3 || true)
if [[ -z "$py" ]] || ! "$py" -c 'import sys, venv, ensurepip; sys.exit(sys.version_info < (3, 9))' 2>/dev/null; then
  [[ $EUID -eq 0 ]] || die "python3 (3.9+) with venv is missing: apt-get install python3 python3-venv"
  log "apt-get install python3 python3-venv"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3 python3-venv >/dev/null
  py=/usr/bin/python3
fi

log "python: a virtual environment for the seed-style service ($("$py" --version 2>&1), $(grep -c '==' "$req") pinned packages; about a minute the first time)"
rm -rf "$venv"
mkdir -p "$RECOBS_CACHE"
"$py" -m venv "$venv" || die "python -m venv failed; retry with scripts/install-python.sh"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-cache-dir -r "$req" >&2 \
  || die "pip install of $req failed; retry with scripts/install-python.sh"
"$venv/bin/python" -c 'import structlog, opentelemetry.sdk, opentelemetry.exporter.otlp.proto.grpc' \
  || die "the seed-style service's packages do not import; remove $venv and retry"
touch "$venv/.complete"
echo "$venv/bin/python"
