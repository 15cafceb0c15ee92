#!/usr/bin/env bash
# Build the container image on a local Debian base and smoke-test it.
#
#   scripts/image.sh [--install]   (--install: apt-get install podman buildah mmdebstrap first)
#
# Needs no registry: the base is made by mmdebstrap from Debian's packages
# (python3, python3-venv) and imported into podman's storage; the image is
# built with the vfs storage driver and chroot isolation, which work without
# a container runtime's privileges. The smoke test starts the edge inside the
# image (buildah run) on the demo config and asks /ready and a seed request.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "${1:-}" = "--install" ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq podman buildah mmdebstrap >/dev/null
fi

STORAGE=(--storage-driver vfs)
BASE=localhost/kickit-base:bookworm
IMAGE=localhost/kickit-edge:dev
CACHE=${KICKIT_IMAGE_CACHE:-var/image}
mkdir -p "$CACHE"

step() { printf '\n== %s\n' "$*"; }

if ! podman "${STORAGE[@]}" image exists "$BASE"; then
  if [ ! -s "$CACHE/base.tar" ]; then
    step "making the Debian base (mmdebstrap, a few minutes once)"
    mmdebstrap --quiet --variant=minbase --include=python3,python3-venv,ca-certificates \
      bookworm "$CACHE/base.tar.part" http://deb.debian.org/debian
    mv "$CACHE/base.tar.part" "$CACHE/base.tar"
  fi
  step "importing the base as $BASE"
  podman "${STORAGE[@]}" import --quiet "$CACHE/base.tar" "$BASE" >/dev/null
fi

step "building $IMAGE"
# The machine's CA bundle goes in as a build secret, for networks whose TLS is
# intercepted by a proxy (never stored in the image).
SECRET=()
CA=${PIP_CERT:-${SSL_CERT_FILE:-/etc/ssl/certs/ca-certificates.crt}}
[ -s "$CA" ] && SECRET=(--secret "id=ca_bundle,src=$CA")
podman "${STORAGE[@]}" build --quiet --format docker --isolation chroot "${SECRET[@]}" --build-arg "BASE_IMAGE=$BASE" -t "$IMAGE" . >/dev/null

step "image facts"
user=$(podman "${STORAGE[@]}" image inspect --format '{{.Config.User}}' "$IMAGE")
entry=$(podman "${STORAGE[@]}" image inspect --format '{{json .Config.Entrypoint}} {{json .Config.Cmd}}' "$IMAGE")
echo "user: $user; entrypoint and command: $entry"
[ "$user" = "10001:10001" ] || { echo "FAIL: the image must run as the unprivileged uid 10001"; exit 1; }
case "$entry" in '["kickit-edge"] ["serve","--snapshots","/snapshots"]') ;; *) echo "FAIL: exec-form entrypoint expected"; exit 1;; esac

step "smoke test inside the image"
ctr=$(buildah "${STORAGE[@]}" from --quiet "$IMAGE")
trap 'buildah "${STORAGE[@]}" rm "$ctr" >/dev/null 2>&1 || true' EXIT
buildah "${STORAGE[@]}" copy --quiet "$ctr" config /tmp/config
buildah "${STORAGE[@]}" copy --quiet "$ctr" scripts/image_smoke.py /tmp/image_smoke.py
buildah "${STORAGE[@]}" run --isolation chroot "$ctr" -- python3 /tmp/image_smoke.py
echo "image OK: $IMAGE"
