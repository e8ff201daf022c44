"""ASGI entry point: `uvicorn ledger_api.main:app` (what `ledger serve` runs)."""

from ledger_api.app import create_app

app = create_app()
