"""Gateway of the alliance points ledger."""

__version__ = "0.1.0"
