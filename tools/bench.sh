#!/usr/bin/env bash
# `make bench`: see tools/bench.py. Extra arguments go to it (e.g. --ops 10000).
set -euo pipefail
cd "$(dirname "$0")/.."
source tools/env.sh
exec .venv/api/bin/python -W ignore tools/bench.py "$@"
