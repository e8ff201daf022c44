"""Gateway of the alliance points ledger."""
