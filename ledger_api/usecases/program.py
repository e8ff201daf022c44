"""Poll operations: a brand opens a poll, and relays the votes its members sign.

Votes carry no nonce (AlliancePolls counts one vote per member and poll, so a replayed
signature fails on chain with `poll_already_voted`); what the gateway checks before the 202 is
what it can know without the chain's eligibility rule: the poll exists in the index, the option
is one of its options, the window is not over, and the signature is the voter's and in time.
Eligibility (what the member held before the opening) is the contract's to decide: a vote it
refuses fails with `poll_not_eligible`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from starlette.concurrency import run_in_threadpool

from ledger_api.access.apikeys import Principal
from ledger_api.background.intake import Accepted, Draft
from ledger_api.chain.typed_data import recover_signer, vote_typed_data
from ledger_api.db.models import IdxPoll
from ledger_api.domain import OpKind, iso_utc
from ledger_api.errors import (
    InvalidPollOption,
    InvalidSignature,
    NotSupported,
    PollNotOpen,
    SignatureExpired,
    UnknownPoll,
)
from ledger_api.model.payloads import PollOpenPayload, PollVotePayload
from ledger_api.model.program import (
    PollOpenRequest,
    VoteRequest,
    VoteTypedDataRequest,
    VoteTypedDataResponse,
)

from .checks import Checks
from .context import BrandDirectory, RequestContext, draft

if TYPE_CHECKING:
    from ledger_api.process.runtime import Runtime


class PollsService:
    def __init__(self, runtime: Runtime) -> None:
        self.rt = runtime
        self.brands = BrandDirectory(runtime.db)
        self.checks = Checks(runtime)

    async def open_poll(self, ctx: RequestContext, req: PollOpenRequest) -> Accepted:
        def check() -> Draft:
            own = self.brands.own(ctx.principal)
            self.checks.window_ahead(req.starts_at, req.ends_at, "PollsInvalidWindow")
            payload = PollOpenPayload(
                content_hash=req.content_hash.lower(),
                option_count=req.option_count,
                starts_at=req.starts_at,
                ends_at=req.ends_at,
                eligibility=0 if req.eligibility == "min_tier" else 1,
                eligibility_ref=req.eligibility_ref,
            )
            return draft(ctx, OpKind.POLL_OPEN, own, payload)

        return await self.rt.intake.submit(await run_in_threadpool(check))

    def _document(self, poll_id: int, voter: str, option: int, deadline: int) -> dict[str, Any]:
        contracts = self.rt.contracts()
        if contracts.polls_address is None:
            raise NotSupported("the AlliancePolls contract is not in the deployment manifest")
        return vote_typed_data(
            chain_id=contracts.chain_id,
            polls=contracts.polls_address,
            voter=voter,
            poll_id=poll_id,
            option=option,
            deadline=deadline,
        )

    def _open_poll_option(self, poll_id: int, option: int) -> None:
        with self.rt.db.read() as session:
            poll = session.get(IdxPoll, poll_id)
            if poll is None:
                raise UnknownPoll(poll_id=poll_id)
            if option >= poll.option_count:
                raise InvalidPollOption(option=option, option_count=poll.option_count)
            ends_at = poll.ends_at
        if self.checks.now() >= ends_at:
            raise PollNotOpen(poll_id=poll_id, ends_at=iso_utc(ends_at))

    async def vote_typed_data(
        self, who: Principal, poll_id: int, req: VoteTypedDataRequest
    ) -> VoteTypedDataResponse:
        def build() -> VoteTypedDataResponse:
            self.brands.own(who)
            self._open_poll_option(poll_id, req.option)
            deadline = self.checks.deadline(req.deadline)
            document = self._document(poll_id, req.voter, req.option, deadline)
            return VoteTypedDataResponse(typed_data=document, deadline=deadline)

        return await run_in_threadpool(build)

    async def vote(self, ctx: RequestContext, poll_id: int, req: VoteRequest) -> Accepted:
        def check() -> Draft:
            own = self.brands.own(ctx.principal)
            self._open_poll_option(poll_id, req.option)
            if req.deadline < self.checks.now():
                raise SignatureExpired(deadline=req.deadline)
            self.checks.deadline_in_reach(req.deadline)
            document = self._document(poll_id, req.voter, req.option, req.deadline)
            signer = recover_signer(document, bytes.fromhex(req.signature[2:]))
            if signer != req.voter and self.rt.chain().code_size(req.voter) == 0:
                raise InvalidSignature(member=req.voter, recovered=signer)
            payload = PollVotePayload(
                voter=req.voter,
                poll_id=poll_id,
                option=req.option,
                deadline=req.deadline,
                signature=req.signature,
            )
            return draft(ctx, OpKind.POLL_VOTE, own, payload, member=req.voter)

        return await self.rt.intake.submit(await run_in_threadpool(check))
