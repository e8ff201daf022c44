"""Credits the chain made that no operation of this database stands for (`chain_credits`).

The gateway holds one live credit per order (and per member's engagement with a `ref`) by its
operations (`uq_operations_brand_order`). A database restored from an older backup has not
seen the operations made since, and a brand calling the ledger itself makes credits the
gateway never sees: the index records each such credit here, as it reads it, and the intake
refuses the order again (`duplicate_order`, `duplicate_engagement`). Before, an order credited
after the backup and sent again after the restore was credited twice (DOMAIN.md, "Returns":
one order earns once)."""

from __future__ import annotations

from sqlalchemy import ForeignKey, Index
from sqlalchemy.orm import Mapped, mapped_column

from ledger_api.db.models import Base, TxHash
from ledger_api.db.types import Uint64


class ChainCredit(Base):
    """An order reference of a brand (a purchase's bound `orderRef`, or an engagement's key,
    `domain.refs.engagement_key`) that the chain credited by `op_id`, in `tx_hash`."""

    __tablename__ = "chain_credits"
    __table_args__ = (Index("ix_chain_credits_brand_op_id", "brand_id", "op_id"),)

    brand_id: Mapped[int] = mapped_column(ForeignKey("brands.id"), primary_key=True)
    order_ref: Mapped[str] = mapped_column(TxHash, primary_key=True)
    op_id: Mapped[int] = mapped_column(Uint64)
    tx_hash: Mapped[str] = mapped_column(TxHash)
    block_number: Mapped[int]
