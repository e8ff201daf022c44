"""What runs after the 202: the intake's group commit (event loop), the notifier (wake-ups),
the sender and the indexer (threads, in `ledger work` or the sending HTTP process).

Nothing here imports the HTTP layer or the use cases."""
