"""Storage: models, sessions and migrations."""

from ledger_api.db.session import Database

__all__ = ["Database"]
