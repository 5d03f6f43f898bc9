#!/usr/bin/env bash
# Builds the harness's own image from the Dockerfile: downtime:<package version> and downtime:latest.
#
#   bash scripts/build-harness-image.sh [--base IMAGE]
#
# --base: the Debian bookworm image every stage starts FROM. Default: debian:bookworm-slim when the engine
# has it, else downtime/debian:bookworm, built here by debootstrap when missing (scripts/build-images.sh
# debian), so no image registry is needed. The build itself fetches Debian packages and npm packages (host
# network). Needs a Docker engine (scripts/docker-engine.sh). The image is checked by
# test/image.check.ts (`node --test dist/test/image.check.js`).
set -euo pipefail
cd "$(dirname "$0")/.."

base=""
while [ $# -gt 0 ]; do
  case $1 in
    --base)
      [ $# -ge 2 ] || { echo "build-harness-image: --base needs an image name" >&2 && exit 2; }
      base=$2
      shift 2
      ;;
    -h | --help) sed -n '2,11s/^# \{0,1\}//p' "$0" && exit 0 ;;
    *) echo "build-harness-image: unknown argument '$1' (usage: --base IMAGE)" >&2 && exit 2 ;;
  esac
done

if ! docker info >/dev/null 2>&1; then
  echo "build-harness-image: no Docker engine answers (run scripts/docker-engine.sh)" >&2
  exit 1
fi
if [ -z "$base" ]; then
  if docker image inspect debian:bookworm-slim >/dev/null 2>&1; then
    base=debian:bookworm-slim
  else
    base=downtime/debian:bookworm
    bash scripts/build-images.sh debian
  fi
fi

# Behind a proxy that re-signs TLS, the host trusts its CA from /usr/local/share/ca-certificates: the build's
# downloads need it too (the build stages only; the final image does not keep it).
ca=""
for f in /usr/local/share/ca-certificates/*.crt; do
  [ -f "$f" ] && ca+=$(cat "$f")$'\n'
done
[ -z "$ca" ] || echo "build-harness-image: the build trusts the host's extra CA certificates (/usr/local/share/ca-certificates)"

version=$(node -p "require('./package.json').version")
start=$SECONDS
mkdir -p .cache
# The classic builder: it honours --network host for RUN steps on an engine started with --bridge=none.
DOCKER_BUILDKIT=0 docker build --network host --build-arg "DEBIAN=$base" --build-arg "BUILD_CA_CERTS=$ca" \
  -t "downtime:$version" -t downtime:latest . >.cache/harness-image.log 2>&1 || {
  tail -30 .cache/harness-image.log >&2
  echo "build-harness-image: docker build failed (.cache/harness-image.log)" >&2
  exit 1
}
size=$(docker image inspect --format '{{.Size}}' "downtime:$version")
says=$(docker run --rm "downtime:$version" --version) || {
  echo "build-harness-image: the image was built but 'downtime --version' fails in it" >&2
  exit 1
}
printf 'downtime:%s: built in %ds from %s, %d MB: %s\n' "$version" $((SECONDS - start)) "$base" \
  $((size / 1000000)) "$says"
