"""The answer of a member's erasure (`DELETE /v1/admin/members/{address}/profile`, `ledger
member erase`): what of the member's off-chain data was erased, counted per kind
(`usecases.erasure` says what each kind is and what is kept)."""

from __future__ import annotations

from pydantic import Field

from ledger_api.model.schemas import Model


class ErasedCounts(Model):
    birthday_weeks: int = Field(
        ge=0,
        description="earns whose campaign record said the earn fell in the member's birthday "
        "week (its `birthday_week` entry is now `erased`)",
    )
    referrals: int = Field(
        ge=0,
        description="referrals naming the member, as the referred member or the referrer "
        "(`campaign_referrals` rows, deleted)",
    )
    referrals_cancelled: int = Field(
        ge=0,
        description="of `referrals`, those still waiting: they will never pay either member",
    )
    referral_records: int = Field(
        ge=0,
        description="earns whose campaign record named who invited whom, the member's own and "
        "the other member's (the `referral` entry is now `erased`)",
    )
    stored_answers: int = Field(
        ge=0,
        description="Idempotency-Key answers of those earns, whose `campaign` was rewritten "
        "the same way (a replay answers the erased record)",
    )
    events: int = Field(
        ge=0,
        description="`referral.credited` / `referral.voided` events (feed and webhooks not yet "
        "delivered) whose members and operations were taken out",
    )


class ErasureAnswer(Model):
    member: str = Field(description="the member's 0x address (checksummed)")
    erased: ErasedCounts
