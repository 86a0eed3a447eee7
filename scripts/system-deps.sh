#!/usr/bin/env bash
# Install (when missing) and start the system parts Riadó needs on Debian/Ubuntu.
#   scripts/system-deps.sh          SpatiaLite, and a Python venv module if the system lacks it
#   scripts/system-deps.sh --test   also PostgreSQL + PostGIS, Redis and Chromium, started
# Idempotent: it installs only what is missing and starts only what is not running.
set -euo pipefail

want_test=0
[ "${1:-}" = "--test" ] && want_test=1

if [ "$(id -u)" -eq 0 ]; then SUDO=""; elif command -v sudo >/dev/null; then SUDO="sudo"; else SUDO=""; fi
export DEBIAN_FRONTEND=noninteractive
say() { printf 'riado setup: %s\n' "$*" >&2; }

missing=()
need_pkg() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed" || missing+=("$1"); }

need_pkg libsqlite3-mod-spatialite
PYTHON="${PYTHON:-python3}"
if ! "$PYTHON" -c 'import venv, ensurepip' >/dev/null 2>&1; then
    need_pkg python3-venv
fi
if [ "$want_test" = 1 ]; then
    pg_major=""
    if command -v pg_lsclusters >/dev/null; then
        pg_major=$(pg_lsclusters -h 2>/dev/null | awk 'NR==1 {print $1}')
    fi
    if [ -z "$pg_major" ]; then
        need_pkg postgresql
        pg_major=15
    fi
    need_pkg "postgresql-${pg_major}-postgis-3"
    command -v redis-server >/dev/null || need_pkg redis-server
    [ -x /usr/bin/chromium ] || need_pkg chromium
    fc-list 2>/dev/null | grep -qi dejavu || need_pkg fonts-dejavu-core
fi

if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" -ne 0 ] && [ -z "$SUDO" ]; then
        say "these Debian packages are missing and I am not root (no sudo): ${missing[*]}"
        exit 1
    fi
    say "installing ${missing[*]}"
    if ! $SUDO apt-get install -y --no-install-recommends "${missing[@]}" >/tmp/riado-apt.log 2>&1; then
        say "package lists look stale; running apt-get update"
        $SUDO apt-get update >>/tmp/riado-apt.log 2>&1
        $SUDO apt-get install -y --no-install-recommends "${missing[@]}" >>/tmp/riado-apt.log 2>&1 \
            || { say "apt-get install failed, see /tmp/riado-apt.log"; tail -20 /tmp/riado-apt.log >&2; exit 1; }
    fi
fi

[ "$want_test" = 1 ] || exit 0

# PostgreSQL: start the cluster if it is down (apt does not start services here).
if ! pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; then
    say "starting PostgreSQL"
    cluster=$(pg_lsclusters -h | awk 'NR==1 {print $1" "$2}')
    $SUDO pg_ctlcluster --skip-systemctl-redirect $cluster start || true
    for _ in $(seq 1 30); do pg_isready -h 127.0.0.1 -p 5432 -q && break; sleep 1; done
fi
pg_isready -h 127.0.0.1 -p 5432 -q || { say "PostgreSQL does not answer on 127.0.0.1:5432"; exit 1; }

# Redis: start it if nothing answers on 6379.
if ! (exec 3<>/dev/tcp/127.0.0.1/6379) 2>/dev/null; then
    say "starting Redis"
    mkdir -p /var/lib/redis /var/log/redis 2>/dev/null || true
    $SUDO redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no \
        --dir /var/lib/redis --logfile /var/log/redis/riado.log
    for _ in $(seq 1 20); do (exec 3<>/dev/tcp/127.0.0.1/6379) 2>/dev/null && break; sleep 0.5; done
fi
