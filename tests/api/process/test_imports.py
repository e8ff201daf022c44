"""What each gateway process imports: the HTTP process and `ledger work` leave out the
libraries they do not use (issue 15's `gateway_rss_mb`: web3 with aiohttp, requests,
httpx with its command line, cryptography were about 30 MB in each process)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]

#: never imported by a gateway process: the chain adapter speaks JSON-RPC on urllib3
NEVER = ("web3", "aiohttp", "websockets", "requests", "charset_normalizer")
#: imported on the first webhook delivery or endpoint secret only
WEBHOOKS_ONLY = ("httpx", "cryptography", "click", "rich", "pygments")


def _modules(code: str) -> set[str]:
    """The modules that `code`, run in a fresh interpreter, leaves in `sys.modules`."""
    probe = f"import json, sys\n{code}\nprint(json.dumps(sorted(sys.modules)))\n"
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=ROOT
    )
    return set(json.loads(done.stdout.strip().splitlines()[-1]))


def _packages(modules: set[str], names: tuple[str, ...]) -> list[str]:
    return sorted({m.split(".")[0] for m in modules} & set(names))


def test_the_http_process_imports_neither_web3_nor_the_webhook_libraries() -> None:
    # `ledger serve` runs uvicorn on `ledger_api.main:app`, which builds the app at import
    modules = _modules("import ledger_api.main")
    assert _packages(modules, NEVER + WEBHOOKS_ONLY) == []
    assert "ledger_api.app" in modules  # the probe did build the app


def test_ledger_work_imports_neither_web3_nor_the_api() -> None:
    # what `ledger work` imports, and the workers its Runtime starts (`Runtime.start_indexing`)
    modules = _modules(
        "import ledger_api.cli, ledger_api.process.supervision\n"
        "import ledger_api.background.sender, ledger_api.background.webhooks.delivery\n"
        "import ledger_api.background.multisig, ledger_api.background.reviews\n"
    )
    assert _packages(modules, (*NEVER, "httpx", "cryptography", "fastapi")) == []
    assert (
        sorted(m for m in modules if m.startswith(("ledger_api.api", "ledger_api.model.schemas")))
        == []
    )
    assert "ledger_api.background.webhooks.delivery" in modules
