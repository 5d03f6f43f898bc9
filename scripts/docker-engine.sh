#!/usr/bin/env bash
# Makes a Docker engine available on this machine and prints where it is.
#
# If `docker info` already answers (DOCKER_HOST or /var/run/docker.sock), it
# does nothing. Otherwise it installs Debian's docker.io when dockerd is
# missing and starts dockerd in the background on the default socket.
# A second call is a no-op. Needs root when it has to install or start.
#
# dockerd runs with --iptables=false --bridge=none: this machine has no
# iptables and containers are always run with --network host, so no bridge
# or NAT is needed (and none is set up behind the machine's back).
set -euo pipefail

LOG=${DOCKERD_LOG:-/var/log/dockerd.log}
PIDFILE=${DOCKERD_PIDFILE:-/var/run/docker.pid}
WAIT_SECONDS=${DOCKERD_WAIT_SECONDS:-30}

where() {
  local driver
  driver=$(docker info --format '{{.Driver}}' 2>/dev/null || echo '?')
  echo "docker engine: ${DOCKER_HOST:-unix:///var/run/docker.sock} (storage driver: $driver)"
}

if docker info >/dev/null 2>&1; then
  where
  exit 0
fi

# A DOCKER_HOST that does not answer is someone else's engine: starting a
# local dockerd would not make that one answer.
if [[ -n ${DOCKER_HOST:-} && $DOCKER_HOST != unix:///var/run/docker.sock ]]; then
  echo "docker-engine: DOCKER_HOST=$DOCKER_HOST does not answer" >&2
  exit 1
fi

if ! command -v dockerd >/dev/null 2>&1; then
  echo "docker-engine: installing docker.io from Debian" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # docker.io brings containerd and runc; dockerd starts its own containerd.
  apt-get install -y -qq --no-install-recommends docker.io >/dev/null
fi

# Start dockerd unless the one in the pidfile is still alive (it may be
# between start and its first answer: then just wait for it below).
pid=$(cat "$PIDFILE" 2>/dev/null || true)
if [[ -z $pid ]] || ! kill -0 "$pid" 2>/dev/null; then
  # setsid + nohup: the daemon must outlive this shell and its session.
  setsid nohup dockerd --iptables=false --bridge=none \
    --host unix:///var/run/docker.sock --pidfile "$PIDFILE" \
    >>"$LOG" 2>&1 </dev/null &
fi

for ((i = 0; i < WAIT_SECONDS * 4; i++)); do
  if docker info >/dev/null 2>&1; then
    where
    exit 0
  fi
  sleep 0.25
done
echo "docker-engine: dockerd did not answer within ${WAIT_SECONDS}s (log: $LOG)" >&2
exit 1
