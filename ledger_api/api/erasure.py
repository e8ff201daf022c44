"""Erasure of a member's off-chain data (GDPR/CCPA; `usecases.erasure` says what goes and
what stays): the admin's `DELETE /v1/admin/members/{address}/profile`.

No Idempotency-Key: the erasure queues nothing on chain and is idempotent by itself (a second
call erases nothing more and answers zero counts), and a stored answer would keep what it
erased about the member. 200 with the counts, at once (one database transaction)."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool

from ledger_api.api.deps import AdminDep, MemberDep, RuntimeDep
from ledger_api.model.erasure import ErasureAnswer
from ledger_api.usecases.erasure import erase_member_profile

router = APIRouter(prefix="/v1", tags=["admin"])


@router.delete(
    "/admin/members/{address}/profile",
    summary="Erase a member's off-chain data (GDPR/CCPA erasure); the ledger stays",
    description="Erases, in one transaction, what the gateway holds about the member beyond "
    "the chain: the campaign records saying an earn fell in its birthday week, and who invited "
    "whom (its referrals, as the referred member or the referrer; a referral still waiting is "
    "cancelled and never pays; the referral entries of both members' earns and their stored "
    "answers, and the `referral.*` events, lose the members). Points, lots, tiers, badges, "
    "history and every operation stay, as the chain and its index hold them. Answers 200 with "
    "the counts per kind; a second call erases nothing more (zero counts). No Idempotency-Key. "
    "Admin key only (403 `forbidden` for a brand key); 422 `invalid_address`.",
)
async def erase_profile(who: AdminDep, address: MemberDep, runtime: RuntimeDep) -> ErasureAnswer:
    return await run_in_threadpool(erase_member_profile, runtime.db, address, who)
