"""The EIP-712 documents members sign, built from a request and the deployment."""

from __future__ import annotations

from typing import Any

from ledger_api.chain.contracts import Contracts
from ledger_api.chain.typed_data import (
    gift_typed_data,
    redeem_benefit_typed_data,
    redeem_typed_data,
)
from ledger_api.domain.ids import LedgerBrandId
from ledger_api.errors import NotSupported
from ledger_api.model import schemas


def gift_document(
    contracts: Contracts,
    member: str,
    to: str,
    brand: LedgerBrandId,
    amount: int,
    nonce: int,
    deadline: int,
) -> dict[str, Any]:
    return gift_typed_data(
        chain_id=contracts.chain_id,
        ledger=contracts.ledger_address,
        member=member,
        to=to,
        brand=brand,
        amount=amount,
        nonce=nonce,
        deadline=deadline,
    )


def redeem_document(
    contracts: Contracts,
    req: schemas.RedemptionRequest | schemas.RedemptionTypedDataRequest,
    at_brand: LedgerBrandId,
    order_ref: str,
    nonce: int,
    deadline: int,
) -> dict[str, Any]:
    """`order_ref`: the request's, bound with the brand's secret (`access.sealing`)."""
    return redeem_typed_data(
        chain_id=contracts.chain_id,
        ledger=contracts.ledger_address,
        member=req.member,
        brand=req.brand,
        at_brand=at_brand,
        amount=req.amount,
        order_ref=order_ref,
        nonce=nonce,
        deadline=deadline,
    )


def benefit_document(
    contracts: Contracts,
    req: schemas.BenefitRedemptionRequest | schemas.BenefitRedemptionTypedDataRequest,
    claim_ref: str,
    nonce: int,
    deadline: int,
) -> dict[str, Any]:
    if contracts.badges_address is None:
        raise NotSupported("the AllianceBadges contract is not deployed")
    return redeem_benefit_typed_data(
        chain_id=contracts.chain_id,
        badges=contracts.badges_address,
        holder=req.holder,
        type_id=req.type_id,
        claim_ref=claim_ref,
        nonce=nonce,
        deadline=deadline,
    )
