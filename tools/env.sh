# Sourced by the Makefile and scripts: puts the pinned toolchain on PATH.
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export LEDGER_ROOT="$ROOT"
export SOLCX_BINARY_PATH="$ROOT/.toolchain/solcx"
export PATH="$ROOT/node_modules/.bin:$PATH"
