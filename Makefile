# The two commands of the quick start are `make run` and `make test`; both set
# everything up first (tools/setup.sh: npm toolchain, two virtualenvs).
SHELL := /bin/bash
ENV := source tools/env.sh &&
BROWNIE := .venv/brownie/bin/brownie
API_PY := .venv/api/bin/python

.PHONY: setup compile run deploy test test-contracts test-api gas bench bench-dashboard slither lint clean

setup:
	@bash tools/setup.sh

compile: setup  # every contract again when any source changed (tools/compile.sh)
	@$(ENV) bash tools/compile.sh

run: setup
	@bash tools/run.sh

# make deploy RPC_URL=<url> (settings: tools/deploy.sh, README "Deploy to a network")
deploy: setup
	@bash tools/deploy.sh "$(RPC_URL)"

test: setup
	@$(ENV) bash tools/test.sh

test-contracts: compile
	@$(ENV) .venv/brownie/bin/python -m pytest tests/contracts -p no:cacheprovider $(ARGS)

test-api: compile  # the gateway suites deploy the compiled contracts (build/contracts)
	@$(ENV) $(API_PY) -m pytest tests/api -p no:cacheprovider $(ARGS)

gas: compile
	@$(ENV) .venv/brownie/bin/python tools/brownie_run.py scripts/gas_report.py --network development

bench: setup
	@$(ENV) bash tools/bench.sh

bench-dashboard: setup
	.venv/api/bin/python tools/dashboard_bench.py

slither: setup
	@bash tools/slither.sh

lint: setup
	@bash tools/lint.sh

clean:
	rm -rf build .venv node_modules .toolchain
