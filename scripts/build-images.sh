#!/usr/bin/env bash
# Builds local MariaDB images from Debian's packages, with no image registry:
#   downtime/mariadb:10.11  <- debootstrap bookworm (MariaDB 10.11)
#   downtime/mariadb:11.8   <- debootstrap trixie   (MariaDB 11.8)
# Each is a minbase root filesystem with mariadb-server, imported with
# `docker import`. The images have no entrypoint, CMD or config of ours: the
# caller starts the server with an explicit command line (see
# docs/notes-containers.md). `debian` builds downtime/debian:bookworm, a bare
# minbase (apt sources with updates and security) that the harness's own
# image builds FROM (scripts/build-harness-image.sh).
#
# Usage: scripts/build-images.sh [--force] [10.11] [11.8] [debian]
#   no argument: both MariaDB images; one that exists is skipped unless --force.
# Needs root (debootstrap) and a Docker engine (scripts/docker-engine.sh).
set -euo pipefail

MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
# Debian bookworm's debian-archive-keyring (2023.3+deb12u2) already holds the
# trixie release keys, so one keyring verifies both suites.
KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg

usage() { sed -n '2,12s/^# \{0,1\}//p' "$0"; }

force=0
versions=()
for arg in "$@"; do
  case $arg in
    --force) force=1 ;;
    10.11 | 11.8 | debian) versions+=("$arg") ;;
    -h | --help) usage && exit 0 ;;
    *) echo "build-images: unknown argument '$arg'" >&2 && usage >&2 && exit 2 ;;
  esac
done
((${#versions[@]})) || versions=(10.11 11.8)

suite_of() {
  case $1 in
    10.11 | debian) echo bookworm ;;
    11.8) echo trixie ;;
  esac
}

tag_of() {
  case $1 in
    debian) echo downtime/debian:bookworm ;;
    *) echo "downtime/mariadb:$1" ;;
  esac
}

if ! docker info >/dev/null 2>&1; then
  echo "build-images: no Docker engine answers (run scripts/docker-engine.sh)" >&2
  exit 1
fi
if ! command -v debootstrap >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends debootstrap >/dev/null
fi

WORK=""
cleanup() {
  [[ -n $WORK && -d $WORK ]] || return 0
  # A debootstrap that died leaves /proc, /sys... mounted inside the root:
  # unmount them first, and never let rm cross into another filesystem.
  awk -v w="$WORK/" 'index($2, w) == 1 { print $2 }' /proc/mounts |
    sort -r | while read -r m; do umount -l "$m" || true; done
  rm -rf --one-file-system "$WORK"
  WORK=""
}
trap cleanup EXIT
trap 'cleanup; exit 130' INT
trap 'cleanup; exit 143' TERM

# Drops what a server never reads. The data directory is emptied too: the
# package's postinst initialised one, and docker would copy it into every new
# named volume mounted on /var/lib/mysql.
trim() {
  local root=$1
  rm -rf "$root"/var/cache/apt/* "$root"/var/lib/apt/lists/* \
    "$root"/usr/share/doc/* "$root"/usr/share/man/* "$root"/usr/share/info/* \
    "$root"/usr/share/locale/* "$root"/usr/share/lintian \
    "$root"/var/log/*.log "$root"/var/log/apt/* "$root"/var/lib/mysql/*
}

build() {
  local version=$1 tag suite start include=(--include=mariadb-server) what=mariadb-server
  tag=$(tag_of "$version")
  suite=$(suite_of "$version")
  if [[ $version == debian ]]; then
    include=()
    what=nothing
  fi
  if [[ $force == 0 ]] && docker image inspect "$tag" >/dev/null 2>&1; then
    echo "$tag: exists, skipped (--force rebuilds)"
    return 0
  fi
  start=$SECONDS
  WORK=$(mktemp -d /var/tmp/downtime-image.XXXXXX)
  echo "$tag: debootstrap $suite into $WORK/root" >&2
  debootstrap --variant=minbase "${include[@]}" --keyring="$KEYRING" \
    "$suite" "$WORK/root" "$MIRROR" >"$WORK/debootstrap.log" 2>&1 || {
    tail -20 "$WORK/debootstrap.log" >&2
    echo "build-images: debootstrap $suite failed" >&2
    return 1
  }
  trim "$WORK/root"
  if [[ $version == debian ]]; then
    # An image others build FROM: their apt-get should get Debian's fixes too.
    printf 'deb %s %s main\ndeb %s %s-updates main\ndeb http://deb.debian.org/debian-security %s-security main\n' \
      "$MIRROR" "$suite" "$MIRROR" "$suite" "$suite" >"$WORK/root/etc/apt/sources.list"
  fi
  tar -C "$WORK/root" -c . |
    docker import --message "debootstrap $suite + $what" - "$tag" >/dev/null
  cleanup
  local size what_runs
  size=$(docker image inspect --format '{{.Size}}' "$tag")
  if [[ $version == debian ]]; then
    what_runs="Debian $(docker run --rm --network host "$tag" cat /etc/debian_version)"
  else
    what_runs=$(docker run --rm --network host --entrypoint mariadbd "$tag" --version)
  fi
  printf '%s: built in %ds, %d MB: %s\n' "$tag" $((SECONDS - start)) \
    $((size / 1000000)) "$what_runs"
}

for v in "${versions[@]}"; do build "$v"; done
