"""An index rebuilt a block at a time: what a rebuild (the chain forgot a block) replays,
stepped by the test, with the gateway stopped."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from ledger_api.background.indexer import Indexer
from ledger_api.chain.port import Chain
from ledger_api.process.runtime import Runtime
from support.gateway import settings_from


@contextmanager
def stepped_rebuild(env: dict[str, str]) -> Iterator[tuple[Runtime, Indexer, Chain]]:
    """A runtime on `env`'s database and an indexer of one block a chunk, the index already
    rolled back to the deployment block: each `indexer.step(chain)` applies one more block
    (True while the chain's head is not reached)."""
    settings = settings_from({**env, "LEDGER_INDEXER_CHUNK_BLOCKS": "1"})
    runtime = Runtime(settings)
    try:
        indexer = Indexer(
            settings=settings,
            db=runtime.db,
            contracts=runtime.contracts(),
            chain_factory=runtime.new_chain,
        )
        indexer.rebuild()
        yield runtime, indexer, runtime.new_chain()
    finally:
        runtime.db.dispose()
