#!/usr/bin/env bash
# `make deploy RPC_URL=<url>`: deploys every contract of the system to the network at that URL
# (scripts/deploy.py) and prints the deployment manifest's path on the last line. Running it
# again against the same network deploys nothing and says so.
#
# The URL is registered as a live (non-development) brownie network named
# alliance-<chain id>-<hash of the URL>; the manifest is named after the chain itself,
# alliance-<chain id>-<its genesis block's hash>, so the same chain reached by another URL (another
# provider, a rotated key in the URL) finds its deployment. Settings (environment):
#   LEDGER_DEPLOYER_KEY      the deployer's private key (pays the gas; required off development chains)
#   LEDGER_ADMIN_ADDRESS     governance address (a multisig); gets the admin roles, the deployer renounces them
#   LEDGER_SETTLEMENT_TOKEN  the ERC-20 of SettlementVault, or `none` for no vault; on a development
#                            chain (chain id 31337 or 1337, or LEDGER_DEV_CHAIN=1) a test token when unset
#   LEDGER_MANIFEST          where the manifest goes (default deployments/alliance-<chain id>-<genesis>.json)
#   LEDGER_DEPLOY_NODE_SILENCE_S  seconds the node may not answer before the deploy stops (default 60)
set -euo pipefail
cd "$(dirname "$0")/.."
source tools/env.sh
source tools/brownie_network.sh
URL="${1:-${RPC_URL:-}}"
[ -n "$URL" ] || { echo "usage: make deploy RPC_URL=<url>" >&2; exit 2; }
# a LEDGER_* variable nothing reads is a misspelling until shown otherwise: a trial misspelt
# the admin address variable, and the admin roles stayed with the deployer, in silence
.venv/api/bin/python -m ledger_api.settings_names ||
  { echo "deploy: nothing deployed: fix or unset the variables above" >&2; exit 2; }

answer="$(curl -s -m 10 -H 'content-type: application/json' \
  -d '{"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":[]}' "$URL" || true)"
hex="$(sed -nE 's/.*"result" *: *"(0x[0-9a-fA-F]+)".*/\1/p' <<< "$answer")"
[ -n "$hex" ] || { echo "deploy: no chain answers eth_chainId at $URL: ${answer:-no answer}" >&2; exit 1; }
CHAIN_ID=$((hex))
genesis="$(curl -s -m 10 -H 'content-type: application/json' \
  -d '{"jsonrpc":"2.0","id":1,"method":"eth_getBlockByNumber","params":["0x0",false]}' "$URL" || true)"
GENESIS="$(sed -nE 's/.*"hash" *: *"0x([0-9a-fA-F]{8}).*/\1/p' <<< "$genesis" | tr 'A-F' 'a-f')"
[ -n "$GENESIS" ] || { echo "deploy: the chain at $URL does not give its genesis block: ${genesis:-no answer}" >&2; exit 1; }
NETWORK="alliance-$CHAIN_ID-$(printf %s "$URL" | sha256sum | cut -c1-8)"
brownie_network live "$NETWORK" "$URL" "$CHAIN_ID"
# a manifest written under the URL's name (before 2026-12-07) is this chain's deployment still
by_url="$PWD/deployments/$NETWORK.json"
by_chain="$PWD/deployments/alliance-$CHAIN_ID-$GENESIS.json"
[ -e "$by_url" ] && [ ! -e "$by_chain" ] && by_chain="$by_url"
export LEDGER_MANIFEST="${LEDGER_MANIFEST:-$by_chain}"
echo "deploy: network $NETWORK (chain id $CHAIN_ID, live)"
mkdir -p build  # the contracts as the sources are now (tools/compile.sh), never a stale build
bash tools/compile.sh > build/compile.log 2>&1 || { cat build/compile.log >&2; exit 1; }
exec .venv/brownie/bin/python tools/brownie_run.py scripts/deploy.py --network "$NETWORK"
