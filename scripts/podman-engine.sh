#!/usr/bin/env bash
# Make a local Docker-API engine for the docker provider's tests: Podman (runc runtime)
# serving the Docker API on a unix socket, and a postgres:15 image built locally from a
# debootstrapped Debian rootfs (no image registry is reachable from these machines).
#
#   source <(bash scripts/podman-engine.sh start)   # prints the variables to export
#   bash scripts/podman-engine.sh stop
#
# Needs root and Debian's podman, runc and debootstrap (installed here if missing).
# Exits non-zero with one line on stderr when the engine cannot be made.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
state="$root/.ci/.cache/podman"
socket="$state/podman.sock"
image="postgres:15"
mkdir -p "$state"

fail() { echo "podman-engine: $*" >&2; exit 1; }

install_tools() {
  command -v podman >/dev/null && command -v runc >/dev/null && command -v debootstrap >/dev/null && return
  [ "$(id -u)" = 0 ] || fail "podman, runc and debootstrap are missing and this is not root"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq podman runc debootstrap >/dev/null \
    || fail "apt-get install podman runc debootstrap failed"
}

configure() {
  mkdir -p /etc/containers
  cat > /etc/containers/containers.conf <<'CONF'
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=1000:1000"]

[engine]
runtime = "runc"
CONF
}

entrypoint() {
  # A minimal stand-in for the official image's docker-entrypoint.sh: initdb with
  # POSTGRES_USER/POSTGRES_PASSWORD/POSTGRES_DB on first start, then run the command.
  cat <<'ENTRY'
#!/bin/sh
set -eu
export PATH="/usr/lib/postgresql/15/bin:$PATH"
PGDATA="${PGDATA:-/var/lib/postgresql/data}"
user="${POSTGRES_USER:-postgres}"
db="${POSTGRES_DB:-$user}"
as_postgres() { setpriv --reuid=postgres --regid=postgres --init-groups "$@"; }
if [ "${1:-}" = "postgres" ]; then
  shift
  mkdir -p "$PGDATA" /var/run/postgresql
  chown postgres:postgres "$PGDATA" /var/run/postgresql
  chmod 700 "$PGDATA"
  if [ ! -s "$PGDATA/PG_VERSION" ]; then
    pwfile="$(mktemp)"
    printf '%s\n' "${POSTGRES_PASSWORD:?POSTGRES_PASSWORD is required}" > "$pwfile"
    chown postgres "$pwfile"
    as_postgres initdb --no-sync -D "$PGDATA" -U "$user" --pwfile="$pwfile" -E UTF8 --locale=C \
      --auth-local=trust --auth-host=scram-sha-256 >/dev/null
    rm -f "$pwfile"
    echo "host all all all scram-sha-256" >> "$PGDATA/pg_hba.conf"
    if [ "$db" != "postgres" ]; then
      as_postgres pg_ctl -D "$PGDATA" -o "-c listen_addresses=''" -w start >/dev/null
      as_postgres createdb -U "$user" "$db"
      as_postgres pg_ctl -D "$PGDATA" -m fast -w stop >/dev/null
    fi
  fi
  exec setpriv --reuid=postgres --regid=postgres --init-groups postgres -D "$PGDATA" -c listen_addresses='*' "$@"
fi
exec "$@"
ENTRY
}

build_image() {
  podman image exists "$image" && return
  local rootfs="$state/rootfs"
  rm -rf "$rootfs"
  # debootstrap uses Debian's default mirror unless DEBOOTSTRAP_MIRROR is set.
  debootstrap --variant=minbase --include=postgresql-15 bookworm "$rootfs" ${DEBOOTSTRAP_MIRROR:-} \
    > "$state/debootstrap.log" 2>&1 || fail "debootstrap failed (see $state/debootstrap.log)"
  entrypoint > "$rootfs/usr/local/bin/docker-entrypoint.sh"
  chmod 755 "$rootfs/usr/local/bin/docker-entrypoint.sh"
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
  tar -C "$rootfs" -c . | podman import \
    --change 'ENTRYPOINT ["/usr/local/bin/docker-entrypoint.sh"]' \
    --change 'CMD ["postgres"]' \
    --change 'ENV PATH=/usr/lib/postgresql/15/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'EXPOSE 5432' \
    - "$image" >/dev/null || fail "podman import failed"
  rm -rf "$rootfs"
}

start_service() {
  if [ -S "$socket" ] && curl -sf --unix-socket "$socket" http://d/_ping >/dev/null 2>&1; then
    return
  fi
  rm -f "$socket"
  nohup podman system service --time=0 "unix://$socket" > "$state/service.log" 2>&1 &
  echo $! > "$state/service.pid"
  for _ in $(seq 50); do
    curl -sf --unix-socket "$socket" http://d/_ping >/dev/null 2>&1 && return
    sleep 0.1
  done
  fail "podman system service did not answer on $socket (see $state/service.log)"
}

case "${1:-start}" in
  start)
    [ "$(id -u)" = 0 ] || fail "needs root (rootful podman)"
    install_tools
    configure
    build_image
    start_service
    echo "export DOCKER_HOST=unix://$socket"
    echo "export TESTCONTAINERS_RYUK_DISABLED=true"
    echo "export TESTCONTAINERS_CONNECTION_MODE=docker_host"
    ;;
  stop)
    if [ -f "$state/service.pid" ]; then
      kill "$(cat "$state/service.pid")" 2>/dev/null || true
      rm -f "$state/service.pid" "$socket"
    fi
    ;;
  *) fail "usage: podman-engine.sh start|stop" ;;
esac
