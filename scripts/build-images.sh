#!/usr/bin/env bash
# `make images`: the sidecar's and recsvc's images (deploy/docker), FROM scratch, from the
# static binaries scripts/build.sh puts in bin/. Built with podman (offline: nothing to pull).
source "$(dirname "$0")/lib.sh"
cd "$RECOBS_ROOT"
command -v podman >/dev/null || die "podman is not installed: scripts/install-deps.sh apttest"

"$RECOBS_ROOT/scripts/build.sh" images
cp /etc/ssl/certs/ca-certificates.crt bin/ca-certificates.crt
for image in otelcol-recobs:collector recsvc:recsvc; do
  name=${image%%:*} file=deploy/docker/${image#*:}.Dockerfile
  log "podman build recobs/$name:$RECOBS_IMAGE_TAG ($file)"
  podman build -q -f "$file" -t "recobs/$name:$RECOBS_IMAGE_TAG" . >/dev/null \
    || die "podman build of $file failed; retry with: make images"
done
