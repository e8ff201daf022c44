"""Poll operations: a brand opens a poll, and relays the votes its members sign.

Votes carry no nonce: AlliancePolls counts one vote per member and poll. Before the 202 the
gateway checks the poll exists in the index, the option is one of its options, the window is not
over, the signature is the voter's and in time, and then asks the contract: a member who voted
(`hasVoted`, or a vote of it still in flight here) is refused `poll_already_voted` (409), one
the poll does not admit (`canVote`: eligibility is fixed at the opening) `poll_not_eligible`
(422), also for the document to sign. They had been accepted, then failed on chain (a trial).
A signed vote is then run by the node (`eth_call`), which judges the voter's tier after its due
quarterly reviews, as the contract does when the vote is sent (the view judges the tier as last
applied).
A vote holds its member and poll in the relaying brand's queue like an order
(`domain.refs.vote_key`), so two votes relayed at once are not both accepted (a trial: four at
once were); the contract stays the judge across brands. With the chain away the chain's checks
wait for it (the vote is queued).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from ledger_api.access.apikeys import Principal
from ledger_api.background.intake import Accepted, Draft
from ledger_api.chain.typed_data import vote_typed_data
from ledger_api.db.models import IdxPoll, Operation
from ledger_api.domain import OPEN_OP_STATUSES, OpKind, OpStatus, iso_utc
from ledger_api.domain.refs import vote_key
from ledger_api.errors import (
    ChainUnavailable,
    InvalidPollOption,
    NotSupported,
    PollAlreadyVoted,
    PollNotEligible,
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

from .checks import Checks, refusal_on_node
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

    def _may_vote(self, who: Principal, poll_id: int, voter: str) -> None:
        """`PollAlreadyVoted` for a member whose vote is on chain or in flight here,
        `PollNotEligible` for one the poll does not admit (the contract's views). A chain that
        does not answer leaves it to the contract, when the vote is sent."""
        self._refuse_if_voted(who, poll_id, voter, chain_says=False)
        contracts = self.rt.contracts()
        if contracts.polls is None or contracts.polls_address is None:
            return
        views = contracts.polls

        def view(function: str) -> bool:
            data = views[function].encode(poll_id, voter)
            return bool(views[function].decode(self.rt.chain().call(address, data))[0])

        address = contracts.polls_address
        try:
            voted, admitted = view("hasVoted"), view("canVote")
        except ChainUnavailable:
            return
        if voted:
            self._refuse_if_voted(who, poll_id, voter, chain_says=True)
        if not admitted:
            raise PollNotEligible(poll_id=poll_id, voter=voter)

    def _refuse_if_voted(
        self, who: Principal, poll_id: int, voter: str, *, chain_says: bool
    ) -> None:
        """`PollAlreadyVoted` when a vote of the member in the poll is in flight here or
        confirmed, or when the chain says it voted (`chain_says`): the vote's operation is
        named (`operation_id`) to its own brand only (another brand learnt its id, and which
        brand the member votes through: a review of 2026-12-06). A vote confirmed between the
        in-flight check and the chain's answer is named too (concurrent relays of one member's
        votes: the refusals named it, or not, by the race)."""
        with self.rt.db.read() as session:
            votes = session.execute(
                select(Operation.uid, Operation.payload, Operation.brand_id).where(
                    Operation.member == voter,
                    Operation.kind == OpKind.POLL_VOTE.value,
                    Operation.status.in_([*OPEN_OP_STATUSES, OpStatus.CONFIRMED.value]),
                )
            ).all()
        for uid, payload, brand_row in votes:
            if int((payload or {}).get("poll_id", -1)) == poll_id:
                named = uid if brand_row == who.brand_row_id else None
                raise PollAlreadyVoted(poll_id=poll_id, voter=voter, operation_id=named)
        if chain_says:
            raise PollAlreadyVoted(poll_id=poll_id, voter=voter, operation_id=None)

    def _run_vote(self, who: Principal, poll_id: int, req: VoteRequest) -> None:
        """The vote run by the node on its latest state (`eth_call` of `voteWithSig`, the
        transaction the sender will send): the contract applies the voter's due quarterly
        reviews before it reads the tier, which the `canVote` view does not (a review of
        2026-12-06: a member the calendar had dropped, not yet reviewed, had its vote accepted,
        then refused on chain). Raises `PollNotEligible` and `PollAlreadyVoted` as the contract
        would; its other refusals (a window that opens at a later block, a pause the vote waits
        out) and a chain that does not answer are the contract's to judge when the vote is sent."""
        contracts = self.rt.contracts()
        if contracts.polls is None:
            return
        signature = bytes.fromhex(req.signature[2:])
        call = contracts.vote_with_sig(poll_id, req.voter, req.option, req.deadline, signature)
        refused = refusal_on_node(self.rt.chain(), call.to, call.data)
        code = refused.error_code if refused is not None else None
        if code == PollNotEligible.code:
            raise PollNotEligible(poll_id=poll_id, voter=req.voter)
        if code == PollAlreadyVoted.code:
            self._refuse_if_voted(who, poll_id, req.voter, chain_says=True)

    async def vote_typed_data(
        self, who: Principal, poll_id: int, req: VoteTypedDataRequest
    ) -> VoteTypedDataResponse:
        def build() -> VoteTypedDataResponse:
            self.brands.own(who)
            self._open_poll_option(poll_id, req.option)
            self._may_vote(who, poll_id, req.voter)
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
            self.checks.signed(document, req.voter, req.signature)  # ERC-1271 for a wallet
            self._may_vote(ctx.principal, poll_id, req.voter)
            self._run_vote(ctx.principal, poll_id, req)
            payload = PollVotePayload(
                voter=req.voter,
                poll_id=poll_id,
                option=req.option,
                deadline=req.deadline,
                signature=req.signature,
            )
            held = vote_key(poll_id, req.voter)  # one at a time (votes relayed at once: a trial)
            return draft(ctx, OpKind.POLL_VOTE, own, payload, member=req.voter, order_ref=held)

        return await self.rt.intake.submit(await run_in_threadpool(check))
