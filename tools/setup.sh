#!/usr/bin/env bash
# Installs everything the project needs from the package registries only
# (npm: solc, OpenZeppelin, anvil; PyPI: two virtualenvs). Idempotent: each step
# is skipped when its inputs have not changed.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"
PY="${PYTHON:-python3}"
SOLC_VERSION="$(node -p "require('./package.json').dependencies.solc")"

stamp() { # stamp NAME FILE... : true when FILEs changed since the stamp was written
  local name="$1"; shift
  local sum; sum="$(cat "$@" | sha256sum | cut -c1-16)"
  [ -f ".toolchain/$name.stamp" ] && [ "$(cat ".toolchain/$name.stamp")" = "$sum" ] && return 1
  echo "$sum" > ".toolchain/$name.stamp.new"; return 0
}
done_stamp() { mv ".toolchain/$1.stamp.new" ".toolchain/$1.stamp"; }

mkdir -p .toolchain/solcx

if stamp npm package.json package-lock.json || [ ! -x node_modules/.bin/anvil ]; then
  echo "setup: npm ci (solc, OpenZeppelin, anvil)"
  npm ci --no-audit --no-fund --loglevel=error
  done_stamp npm 2>/dev/null || true
fi

# py-solc-x and brownie look for solc-v<version> in $SOLCX_BINARY_PATH. The wrapper finds
# tools/solc.js from where it is called (.toolchain/solcx/ of the checkout), not from an
# absolute path: a clone whose .toolchain links to another checkout's rewrote the wrapper there
# to its own path, and that checkout's compiler then ran from the clone (a trial, 2026-12-06).
cat > ".toolchain/solcx/solc-v$SOLC_VERSION" <<'SH'
#!/bin/sh
exec node "$(dirname "$0")/../../tools/solc.js" "$@"
SH
chmod +x ".toolchain/solcx/solc-v$SOLC_VERSION"

if stamp brownie requirements/brownie.txt || [ ! -x .venv/brownie/bin/brownie ]; then
  echo "setup: virtualenv .venv/brownie"
  "$PY" -m venv .venv/brownie
  .venv/brownie/bin/pip install -q --upgrade pip
  .venv/brownie/bin/pip install -q -r requirements/brownie.txt
  .venv/brownie/bin/pip check
  done_stamp brownie
fi

if stamp api pyproject.toml requirements/api.txt || [ ! -x .venv/api/bin/ledger ]; then
  echo "setup: virtualenv .venv/api"
  "$PY" -m venv .venv/api
  .venv/api/bin/pip install -q --upgrade pip
  .venv/api/bin/pip install -q -c requirements/api.txt -e ".[dev]"
  .venv/api/bin/pip check
  done_stamp api
fi

# The dashboard's browser test drives Debian's Chromium with its matching driver (Selenium);
# nothing downloads a browser of its own.
if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "setup: apt-get install chromium chromium-driver (the dashboard's browser test)"
    apt-get update -q >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
      chromium chromium-driver >/dev/null
  else
    echo "setup: chromium and chromium-driver are missing; as root: apt-get install chromium chromium-driver" >&2
  fi
fi

# A Debian package some tests need: installed as root, or with sudo without a password;
# elsewhere say what is missing. apt_install PACKAGE WHAT_NEEDS_IT
apt_install() {
  if command -v apt-get >/dev/null 2>&1; then
    SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo -n"
    echo "setup: apt-get install $1 (for $2)"
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$1" >/dev/null \
      || { $SUDO apt-get update -q >/dev/null \
           && $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$1" >/dev/null; } \
      || echo "setup: could not install $1; $2 fail in CI without it"
  else
    echo "setup: $1 is not installed; $2 need it"
  fi
}

# tests/api/db/test_commit_sync.py watches a write's lock and syncs with strace.
command -v strace >/dev/null 2>&1 || apt_install strace "the commit-sync tests"

# The PostgreSQL tests start a throwaway server (tests/api/support/postgres.py): they need
# initdb, pg_ctl and postgres, from the distribution's server package.
have_pg() {
  command -v initdb >/dev/null 2>&1 || [ -x /usr/local/bin/initdb ] \
    || compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null
}
have_pg || apt_install postgresql "the PostgreSQL tests"
