"""Checks that need state, run before an operation is accepted (4xx at once).

The chain remains the authority: the sender simulates member-signed operations again
right before sending them. "Now" is the later of the wall clock, the index's last block
and the chain's head (a development chain may run ahead).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, Literal

from sqlalchemy import func, select

from ledger_api.background.indexer import CHARITY_POOL, index_time
from ledger_api.background.sender.debit_order import nonce_held
from ledger_api.chain.errors import error_code
from ledger_api.chain.escrows import escrow_implementation, is_escrow_code, predicted_escrow
from ledger_api.chain.typed_data import (
    erc1271_approves,
    is_valid_signature_data,
    recover_signer,
    typed_data_digest,
)
from ledger_api.db.auction_models import IdxAuction
from ledger_api.db.keys import OPEN
from ledger_api.db.models import (
    Brand,
    IdxBadgeBalance,
    IdxBadgeType,
    IdxLot,
    IdxMeta,
    IdxPending,
    Operation,
    Signer,
)
from ledger_api.domain import LAST_WRITABLE_S, BrandStatus, OpKind, iso_utc
from ledger_api.domain.ids import LedgerBrandId
from ledger_api.errors import (
    BadgeNoBenefit,
    BadgeNotHeld,
    BadgeSupplyExceeded,
    BadgeTierTooLow,
    BrandForbidden,
    BrandSuspended,
    ChainRejected,
    ChainUnavailable,
    InsufficientBalance,
    InvalidDeadline,
    InvalidMember,
    InvalidNonce,
    InvalidSignature,
    LedgerError,
    SignatureExpired,
    SignatureReplayed,
    UnknownBadge,
    UnknownBrand,
)
from ledger_api.model.auctions import MAX_WINDOW_S  # AlliancePolls' MAX_WINDOW is the same
from ledger_api.model.payloads import (
    AuctionBidPayload,
    GiftPayload,
    RedemptionPayload,
    payload_of,
)

from .context import BrandInfo

if TYPE_CHECKING:
    from ledger_api.chain.port import Chain
    from ledger_api.process.runtime import Runtime

#: the operation kinds that debit a member's points
DEBITS = (
    OpKind.GIFT.value,
    OpKind.DONATION.value,
    OpKind.REDEMPTION.value,
    OpKind.AUCTION_BID.value,
)


#: how far ahead of now an auction or a poll must start (`Checks.window_ahead`), seconds
START_MARGIN_S = 30


class Checks:
    def __init__(self, runtime: Runtime) -> None:
        self.rt = runtime

    # ------------------------------------------------------------------ time

    def now(self) -> int:
        """The later of the wall clock, the index's time and the chain's head time."""
        head = self.rt.chain().block("latest")
        with self.rt.db.read() as session:
            indexed = index_time(session)
        return max(int(time.time()), indexed, head.timestamp if head else 0)

    def deadline(self, deadline: int | None) -> int:
        """The deadline to sign: the given one (at most `max_deadline_ahead_s` from now, else
        `InvalidDeadline`; passed already, `SignatureExpired`, as its relay would answer: a
        trial got typed data no signature of could ever be relayed) or in `signature_ttl_s`."""
        if deadline is None:
            return self.now() + self.rt.settings.signature_ttl_s
        if deadline < self.now():
            raise SignatureExpired(deadline=deadline)
        self.deadline_in_reach(deadline)
        return deadline

    def deadline_in_reach(self, deadline: int) -> None:
        """Issue 9: a signature valid for years cannot be withdrawn; refuse one signed for
        beyond `Settings.max_deadline_ahead_s` (default 30 days)."""
        latest = self.now() + self.rt.settings.max_deadline_ahead_s
        if deadline > latest:
            raise InvalidDeadline(deadline=deadline, latest=latest)

    def window_ahead(self, starts_at: int, ends_at: int, chain_error: str) -> None:
        """An auction's or a poll's window as its contract takes it when the creating
        transaction is mined, after the 202: starting at least `START_MARGIN_S` from now,
        ending after it starts, within 90 days, by 9999-12-31T23:59:59Z (the last time an
        answer can write: a year-10000 auction stopped the indexer, a review). Else
        `ChainRejected` with the contract's code
        (`chain_error`: `AuctionsInvalidWindow`, `PollsInvalidWindow`); `details` give the
        window as sent (ISO 8601, or the seconds sent for a time past the year 9999: the
        refusal had shown such a time as 9999-12-31T23:59:59Z, not what was sent), the
        earliest start and the latest end. A start a second ahead passed, then failed on chain
        (a trial)."""
        earliest = self.now() + START_MARGIN_S
        latest = min(starts_at + MAX_WINDOW_S, LAST_WRITABLE_S)  # the year 9999: `utc_datetime`
        if starts_at < earliest or not starts_at < ends_at <= latest:
            raise ChainRejected(
                error_code(chain_error),
                f"the window must start at least {START_MARGIN_S} s from now (its transaction "
                "is mined after this answer) and end after it starts, within 90 days and by "
                "9999-12-31T23:59:59Z",
                chain_error=chain_error,
                starts_at=_as_sent(starts_at),
                ends_at=_as_sent(ends_at),
                earliest_starts_at=iso_utc(earliest),
                latest_ends_at=iso_utc(max(latest, earliest)),
            )

    # -------------------------------------------------------------- receivers

    def receiver(self, address: str, *, role: str = "member") -> None:
        """Points never go to a system contract of the deployment (the ledger, its lens, the
        badge contracts, the vault), which can never move them; the chain refuses them too
        (`LedgerInvalidMember`, issue 10). Other contracts (smart-contract wallets) are fine.
        `InvalidMember` (422) names the address under `role` (`member`, `referrer`). The
        auctions' escrow implementation is one of them: nothing ever calls it, so what it gets
        stays there for good (a review of 2026-12-06)."""
        contracts = self.rt.contracts()
        system = {
            c.address.lower()
            for name, c in contracts.manifest.contracts.items()
            if name != "TestUSD"
        }
        if contracts.auctions_address is not None:
            system.add("0x" + escrow_implementation(contracts.auctions_address).hex())
        if address.lower() in system:
            raise InvalidMember(
                f"a system contract can never move points ({role})", **{role: address}
            )

    def gift_receiver(self, to: str, member: str) -> None:
        """`receiver`, and never an auction's bid escrow (`chain.escrows`): a bid's signed
        gift relayed as a plain one locked the member's points there, counted as no bid, and
        spent the nonce the bid needed (a trial). `InvalidMember` (422) for the escrows'
        implementation (no code ever moves what it holds), an escrow some bid made, or the
        member's own escrow of an auction the index holds. Another member's escrow not made
        yet cannot be told from any address: a gift there waits for that member's `reclaim`.
        `InvalidMember` too for a gift to the member itself: it moves nothing, and wrote a
        `gifted` and a `received` line that inflated both totals of the growth report (a
        trial; the ledger takes it from the member's own call)."""
        if to.lower() == member.lower():
            raise InvalidMember("a member cannot gift points to itself", member=to)
        self.receiver(to)
        if self._is_escrow(to, member):
            raise InvalidMember(
                "an auction's escrow takes points as a bid only (POST /v1/auctions/{id}/bids)",
                member=to,
            )

    def _is_escrow(self, to: str, member: str) -> bool:
        auctions = self.rt.contracts().auctions_address
        if auctions is None:
            return False
        implementation = escrow_implementation(auctions)
        target = to.lower()
        if target == "0x" + implementation.hex():  # nothing ever calls it: points stuck
            return True
        if is_escrow_code(self.rt.chain().code(to), implementation):
            return True
        with self.rt.db.read() as session:
            known = session.scalars(select(IdxAuction.auction_id)).all()
        return any(predicted_escrow(auctions, implementation, a, member) == target for a in known)

    # -------------------------------------------------------------- signatures

    def next_member_nonce(self, member: str, domain: str = "ledger") -> tuple[int, int]:
        """(the contract's nonce, the next nonce once the gateway's pending operations land)."""
        chain_nonce, expected, _ = self._member_nonces(member, domain, ask_held=False)
        return chain_nonce, expected

    def typed_data_nonce(
        self, member: str, domain: str = "ledger"
    ) -> tuple[int, Literal["earlier_nonce_held"] | None]:
        """The nonce of the member's next signed move in `domain` ("ledger" or "badges"), and
        `earlier_nonce_held` when a move signed with it would wait behind the member's open
        operation at a brand whose signing key is shut (`debit_order.nonce_held`), else None."""
        _, expected, held = self._member_nonces(member, domain, ask_held=True)
        return expected, "earlier_nonce_held" if held else None

    def _member_nonces(self, member: str, domain: str, *, ask_held: bool) -> tuple[int, int, bool]:
        contracts = self.rt.contracts()
        if domain == "badges":
            call = contracts.badge_nonces_call(member)
            assert contracts.badges is not None  # badge_nonces_call raised otherwise
            codec = contracts.badges["nonces"]
        else:
            call = contracts.nonces_call(member)
            codec = contracts.ledger["nonces"]
        (chain_nonce,) = codec.decode(self.rt.chain().call(call.to, call.data))
        with self.rt.db.read() as session:
            pending = session.scalar(
                select(func.max(Operation.member_nonce)).where(
                    Operation.member == member,
                    Operation.nonce_domain == domain,
                    OPEN,
                )
            )
            held = ask_held and pending is not None and nonce_held(session, member, domain)
        expected = max(int(chain_nonce), (pending + 1) if pending is not None else 0)
        return int(chain_nonce), expected, held

    def signature(
        self,
        document: dict[str, Any],
        member: str,
        signature: str,
        nonce: int,
        deadline: int,
        domain: str = "ledger",
    ) -> None:
        """The member signed `document` (`signed`), in time, with the next unused nonce."""
        if deadline < self.now():
            raise SignatureExpired(deadline=deadline)
        self.deadline_in_reach(deadline)
        self.signed(document, member, signature)
        chain_nonce, expected = self.next_member_nonce(member, domain)
        if nonce < chain_nonce:
            raise SignatureReplayed(member=member, nonce=nonce, next_nonce=chain_nonce)
        if nonce > expected:
            raise InvalidNonce(member=member, nonce=nonce, next_nonce=expected)

    def signed(self, document: dict[str, Any], account: str, signature: str) -> None:
        """`verify_signature` on this thread's chain: every member-signed operation's check."""
        verify_signature(self.rt.chain(), document, account, signature)

    # ---------------------------------------------------------------- balances

    def balance(self, member: str, brand: LedgerBrandId, amount: int) -> None:
        """What the member may spend of `brand`'s points: the index's live lots, less the
        points still in a return window (DOMAIN.md, Returns: the ledger refuses to move them)
        and the member's debits in flight; `InsufficientBalance` (422) below `amount`. A trial:
        a redemption of pending points was accepted (202), then failed on chain."""
        now = self.now()
        with self.rt.db.read() as session:
            live = session.scalar(
                select(func.coalesce(func.sum(IdxLot.amount), 0)).where(
                    IdxLot.member == member, IdxLot.brand == brand, IdxLot.expires_at > now
                )
            )
            waiting = session.scalar(
                select(func.coalesce(func.sum(IdxPending.amount), 0)).where(
                    IdxPending.member == member,
                    IdxPending.brand == brand,
                    IdxPending.release_at > now,
                )
            )
            pending = session.execute(
                select(Operation.kind, Operation.payload).where(
                    Operation.member == member,
                    Operation.kind.in_(DEBITS),
                    OPEN,
                )
            ).all()
        in_flight = 0
        for kind, stored in pending:
            debit = payload_of(kind, stored)
            assert isinstance(debit, GiftPayload | RedemptionPayload | AuctionBidPayload)
            if debit.brand == brand:
                in_flight += debit.amount
        available = int(live or 0) - int(waiting or 0) - in_flight
        if available < amount:
            raise InsufficientBalance(
                member=member, brand_id=brand, available=available, needed=amount
            )

    # ------------------------------------------------------------------ brands

    @staticmethod
    def points_brand(own: BrandInfo, requested: int | None) -> LedgerBrandId:
        """A gift or donation moves the relaying brand's own points only."""
        ledger_brand_id = own.onboarded()
        if requested is not None and requested != ledger_brand_id:
            raise BrandForbidden(
                "a brand relays gifts and donations of its own points only",
                brand_id=ledger_brand_id,
                requested_brand_id=requested,
            )
        return ledger_brand_id

    def redeemable_brand(self, ledger_brand_id: LedgerBrandId) -> None:
        """Points of a known brand that is not suspended."""
        with self.rt.db.read() as session:
            brand = session.scalar(select(Brand).where(Brand.ledger_id == ledger_brand_id))
        if brand is None:
            raise UnknownBrand(brand_id=ledger_brand_id)
        if brand.status == BrandStatus.SUSPENDED:
            raise BrandSuspended(brand_id=ledger_brand_id)

    def charity_pool(self) -> str:
        with self.rt.db.read() as session:
            meta = session.get(IdxMeta, CHARITY_POOL)
            if meta is not None:
                return meta.value
        contracts = self.rt.contracts()
        call = contracts.charity_pool_call()
        (pool,) = contracts.ledger["charityPool"].decode(self.rt.chain().call(call.to, call.data))
        return str(pool)

    # ------------------------------------------------------------------ badges

    def issuable(self, own: BrandInfo, type_id: int, member: str, amount: int) -> None:
        """The issue run by the node as the brand's signer will send it (`eth_call` of
        AllianceBadges' `issue` on the latest state), refused as the contract refuses it: a
        member below the type's minimum tier after its due quarterly reviews
        (`badge_tier_too_low`) or units past the supply, the units its auctions reserve
        included (`badge_supply_exceeded`), both 422.
        A review of 2026-12-06: each was accepted (202), then failed on chain. An upgrade
        still in flight does not count: the sender runs the issue on the same state before it
        sends it (it failed there), so the brand issues once the upgrading earn is confirmed.
        The contract's other refusals (a pause the issue waits out, a signer in rotation) and
        a chain that does not answer are left to the sender."""
        with self.rt.db.read() as session:
            signer = session.scalar(
                select(Signer.address)
                .where(Signer.brand_id == own.row_id, Signer.active.is_(True))
                .order_by(Signer.id.desc())
            )
        if signer is None:
            return
        call = self.rt.contracts().issue_badge(type_id, member, amount)
        refused = refusal_on_node(self.rt.chain(), call.to, call.data, signer)
        if isinstance(refused, (BadgeTierTooLow, BadgeSupplyExceeded)):
            raise refused

    def own_badge_type(self, own: BrandInfo, type_id: int, forbidden: str) -> IdxBadgeType:
        """A badge type of the calling brand (else `BrandForbidden` with that message)."""
        with self.rt.db.read() as session:
            badge = session.get(IdxBadgeType, type_id)
        if badge is None:
            raise UnknownBadge(type_id=type_id)
        if badge.brand != own.ledger_brand_id:
            raise BrandForbidden(
                forbidden, brand_id=own.ledger_brand_id, owner_brand_id=badge.brand, type_id=type_id
            )
        return badge

    def benefit_badge(self, own: BrandInfo, type_id: int, holder: str) -> None:
        """The brand's own badge type, with a benefit, of which the holder owns a unit."""
        badge = self.own_badge_type(
            own, type_id, "a brand redeems the benefits of its own badge types only"
        )
        with self.rt.db.read() as session:
            held = session.get(IdxBadgeBalance, (holder, str(type_id)))
        if not badge.has_benefit:
            raise BadgeNoBenefit(type_id=type_id)
        if held is None or held.amount <= 0:
            raise BadgeNotHeld(type_id=type_id, holder=holder)


def refusal_on_node(
    chain: Chain, to: str, data: bytes, sender: str | None = None
) -> LedgerError | None:
    """What the contract answers a transaction with on the latest state (`eth_call`): the
    domain error of its revert (`chain.errors`), or None when it goes through or the chain
    does not answer. The pre-checks that run an operation before its 202 pick from it the
    refusals no later block lifts; the rest is the sender's to judge."""
    try:
        chain.call(to, data, sender=sender)
    except ChainUnavailable:
        return None
    except LedgerError as refused:
        return refused
    return None


def verify_signature(chain: Chain, document: dict[str, Any], account: str, signature: str) -> None:
    """`account` signed the EIP-712 `document`, as the contract that verifies it decides
    (OpenZeppelin's `SignatureChecker.isValidSignatureNow`): an address without code by ECDSA
    recovery; an address with code (a contract wallet, an EIP-7702 account) by ERC-1271, an
    `eth_call` of its `isValidSignature(digest, signature)` from the verifying contract, on the
    latest state, which must answer the magic value `0x1626ba7e` (`erc1271_approves`).
    Else `InvalidSignature` (422) before anything is stored. DOMAIN.md: nothing may move a
    member's points without the member's signature; a contract wallet's had been taken unchecked
    (a review of 2026-12-06: any brand relayed a gift "from" one, it took the wallet's nonce in
    the gateway's view and failed on chain).

    A wallet that reverts, or answers anything but the magic value (nothing, a short answer),
    refuses. A chain that does not answer (`ChainUnavailable`, 503) refuses the request too, as
    the nonce check after it and `now()` before it do: accepting a signature nobody checked
    would hold the member's nonce and points for an operation the chain may refuse. A call that
    halts without a revert (an invalid opcode, out of gas) the node reports as an error the port
    takes for an outage: 503 as well, nothing stored either. A wallet's approval can change
    between this check and the block that includes the operation (contract signatures are
    revocable); the chain stays the judge."""
    raw = bytes.fromhex(signature[2:])
    if chain.code_size(account) == 0:
        recovered = recover_signer(document, raw)
        if recovered != account:
            raise InvalidSignature(member=account, recovered=recovered)
        return
    verifier = str(document["domain"]["verifyingContract"])
    data = is_valid_signature_data(typed_data_digest(document), raw)
    try:
        answer = chain.call(account, data, sender=verifier)
    except ChainUnavailable:
        raise
    except LedgerError:  # a revert, whatever its reason: the wallet does not approve
        answer = b""
    if not erc1271_approves(answer):
        raise InvalidSignature(
            "the contract wallet does not approve the signature (ERC-1271 isValidSignature)",
            member=account,
        )


def _as_sent(timestamp: int) -> str | int:
    """A time of a refused request as ISO 8601 UTC, or the seconds as sent past the year 9999
    (an answer cannot write that year)."""
    return iso_utc(timestamp) if timestamp <= LAST_WRITABLE_S else timestamp
