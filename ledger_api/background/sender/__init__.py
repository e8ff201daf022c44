"""The sender: turns queued operations into transactions, exactly once (after the 202).

pool.py       Sender: one worker thread per active signer (started by process.Runtime)
worker.py     SignerWorker: the loop (track, fill, broadcast) of one signer
schedule.py   when to send, which operations share a transaction
slots.py      SlotStore: all SQL on slots, attempts and the queue; `store_new`, `sign_and_store`
slot_rows.py  the store's and the settler's write statements, built once
settle.py     Settler: a receipt's outcome per operation, and the brand rule after it
reconcile.py  Reconciler: the database's nonces against the chain's
clock.py      the block clock and the fee cache
txplan.py     pure: what each operation sends, what a receipt means for it
"""

from .clock import BlockClock
from .pool import Sender
from .settle import SenderHooks
from .worker import SignerWorker

__all__ = ["BlockClock", "Sender", "SenderHooks", "SignerWorker"]
