"""Domain services: what the routes call, and the sender and indexer workers."""
