"""The deployed contracts as calldata builders, error and event registries."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ledger_api.chain.abi import ContractCodec, ErrorRegistry, EventRegistry
from ledger_api.chain.manifest import (
    ALLIANCE_AUCTIONS,
    ALLIANCE_BADGES,
    ALLIANCE_POLLS,
    ENTERPRISE_ACCOUNTS,
    LEDGER,
    MEMBERSHIP_BADGE,
    SETTLEMENT_VAULT,
    Manifest,
)
from ledger_api.domain import EarnRule
from ledger_api.errors import NotSupported

INDEXED_CONTRACTS = frozenset(
    {
        LEDGER,
        MEMBERSHIP_BADGE,
        ALLIANCE_BADGES,
        SETTLEMENT_VAULT,
        ALLIANCE_POLLS,
        ENTERPRISE_ACCOUNTS,
        ALLIANCE_AUCTIONS,
    }
)
EARN_OP_ARRAY = "(uint64,address,uint8,uint16,uint64,bytes32)[]"
TEST_TOKEN = "TestUSD"  # deployed by scripts/deploy.py on development chains only
#: what the gateway calls of the settlement token (any ERC-20; `mint` only on the test token)
TOKEN_ABI: list[dict[str, object]] = [
    {
        "type": "function",
        "name": name,
        "stateMutability": mutability,
        "inputs": [{"name": n, "type": t} for n, t in inputs],
        "outputs": [{"name": "", "type": out} for out in outputs],
    }
    for name, mutability, inputs, outputs in (
        ("balanceOf", "view", (("account", "address"),), ("uint256",)),
        ("allowance", "view", (("owner", "address"), ("spender", "address")), ("uint256",)),
        ("approve", "nonpayable", (("spender", "address"), ("value", "uint256")), ("bool",)),
        ("mint", "nonpayable", (("to", "address"), ("amount", "uint256")), ()),
    )
]


def _word(value: int) -> bytes:
    return value.to_bytes(32, "big")


@dataclass(frozen=True, slots=True)
class Call:
    """A contract call to sign: target, calldata and value."""

    to: str
    data: bytes
    value: int = 0


@dataclass(frozen=True, slots=True)
class EarnOpArgs:
    op_id: int
    member: str
    kind: int
    multiplier_pct: int
    amount_cents: int
    order_ref: bytes

    def as_tuple(self) -> tuple[int, str, int, int, int, bytes]:
        return (
            self.op_id,
            self.member,
            self.kind,
            self.multiplier_pct,
            self.amount_cents,
            self.order_ref,
        )


class Contracts:
    """Addresses, codecs and registries of one deployment."""

    def __init__(self, manifest: Manifest) -> None:
        self.manifest = manifest
        self.chain_id = manifest.chain_id
        self.ledger_address = manifest.ledger.address
        self.ledger = ContractCodec(manifest.ledger.abi)
        badges = manifest.get(ALLIANCE_BADGES)
        membership = manifest.get(MEMBERSHIP_BADGE)
        self.badges_address = badges.address if badges else None
        self.badges = ContractCodec(badges.abi) if badges else None
        self.membership_address = membership.address if membership else None
        polls = manifest.get(ALLIANCE_POLLS)
        self.polls_address = polls.address if polls else None
        self.polls = ContractCodec(polls.abi) if polls else None
        enterprises = manifest.get(ENTERPRISE_ACCOUNTS)
        self.enterprises_address = enterprises.address if enterprises else None
        self.enterprises = ContractCodec(enterprises.abi) if enterprises else None
        auctions = manifest.get(ALLIANCE_AUCTIONS)
        self.auctions_address = auctions.address if auctions else None
        self.auctions = ContractCodec(auctions.abi) if auctions else None
        vault = manifest.get(SETTLEMENT_VAULT)
        self.vault_address = vault.address if vault else None
        self.vault = ContractCodec(vault.abi) if vault else None
        self.token = ContractCodec(TOKEN_ABI)
        test_token = manifest.get(TEST_TOKEN)
        self.test_token_address = test_token.address if test_token else None
        self.errors = ErrorRegistry(c.abi for c in manifest.contracts.values())
        self.events = EventRegistry(
            {c.name: (c.address, c.abi) for c in manifest.contracts.values()}
        )

    @property
    def indexed_addresses(self) -> list[str]:
        """The contracts whose events the index follows (not, say, a settlement token)."""
        return [c.address for c in self.manifest.contracts.values() if c.name in INDEXED_CONTRACTS]

    # ------------------------------------------------------------------- ledger

    def _ledger(self, function: str, *args: object) -> Call:
        return Call(self.ledger_address, self.ledger[function].encode(*args))

    def earn_batch(self, ops: Sequence[EarnOpArgs]) -> Call:
        codec = self.ledger["earnBatch"]
        if codec.input_types != (EARN_OP_ARRAY,):
            return self._ledger("earnBatch", [op.as_tuple() for op in ops])
        # A dynamic array of static 6-word tuples, encoded directly: the generic ABI encoder
        # costs more than the rest of a 200-operation batch together.
        parts = [codec.selector, _word(32), _word(len(ops))]
        for op in ops:
            parts += (
                _word(op.op_id),
                bytes(12) + bytes.fromhex(op.member[2:]),
                _word(op.kind),
                _word(op.multiplier_pct),
                _word(op.amount_cents),
                op.order_ref.rjust(32, b"\0")[:32],
            )
        return Call(self.ledger_address, b"".join(parts))

    def gift_with_sig(
        self,
        member: str,
        to: str,
        brand: int,
        amount: int,
        nonce: int,
        deadline: int,
        signature: bytes,
    ) -> Call:
        return self._ledger("giftWithSig", (member, to, brand, amount, nonce, deadline), signature)

    def redeem_with_sig(
        self,
        member: str,
        brand: int,
        at_brand: int,
        amount: int,
        order_ref: bytes,
        nonce: int,
        deadline: int,
        signature: bytes,
    ) -> Call:
        return self._ledger(
            "redeemWithSig",
            (member, brand, at_brand, amount, order_ref, nonce, deadline),
            signature,
        )

    def reverse(
        self,
        op_id: int,
        member: str,
        release_day: int,
        earn_month: int,
        points: int,
        spend_cents: int,
        quarter: int,
        closes_order: bool,
        order_ref: bytes,
    ) -> Call:
        """`reverse(ReverseOp)`: a brand cancels a returned order's pending points (issue 11),
        found by the purchase's own release day and earn month (months since 1970-01)."""
        op = (
            op_id,
            member,
            release_day,
            earn_month,
            points,
            spend_cents,
            quarter,
            closes_order,
            order_ref,
        )
        return self._ledger("reverse", op)

    def review_tier(self, member: str) -> Call:
        return self._ledger("reviewTier", member)

    def review_tiers(self, members: list[str]) -> Call:
        return self._ledger("reviewTiers", members)

    def onboard_brand(
        self, signer: str, value_micro_usd: int, rule: EarnRule, name: str, symbol: str
    ) -> Call:
        return self._ledger("onboardBrand", signer, value_micro_usd, rule.as_tuple(), name, symbol)

    def set_brand_suspended(self, brand: int, suspended: bool) -> Call:
        return self._ledger("setBrandSuspended", brand, suspended)

    def set_point_value(self, brand: int, value_micro_usd: int) -> Call:
        return self._ledger("setPointValue", brand, value_micro_usd)

    def set_return_window(self, brand: int, days: int) -> Call:
        return self._ledger("setReturnWindow", brand, days)

    def set_daily_mint_cap(self, brand: int, cap: int) -> Call:
        return self._ledger("setDailyMintCap", brand, cap)

    def set_max_multiplier(self, pct: int) -> Call:
        return self._ledger("setMaxMultiplier", pct)

    def set_order_floor(self, usd: int) -> Call:
        return self._ledger("setOrderFloor", usd)

    def set_paused(self, paused: bool) -> Call:
        """`pause()` or `unpause()`."""
        return self._ledger("pause" if paused else "unpause")

    def set_tier_rule(
        self, tier: int, spend_cents: int, orders: int, engagements: int, gift_points: int
    ) -> Call:
        return self._ledger("setTierRule", tier, (spend_cents, orders, engagements), gift_points)

    # ------------------------------------------------------------------- badges

    def _badges(self, function: str, *args: object) -> Call:
        if self.badges is None or self.badges_address is None:
            raise NotSupported("the AllianceBadges contract is not in the deployment manifest")
        return Call(self.badges_address, self.badges[function].encode(*args))

    def define_badge(
        self,
        kind: int,
        max_supply: int,
        min_tier: int,
        has_benefit: bool,
        self_mint: bool,
        uri: str,
    ) -> Call:
        return self._badges("defineBadge", kind, max_supply, min_tier, has_benefit, self_mint, uri)

    def issue_badge(self, type_id: int, member: str, amount: int) -> Call:
        return self._badges("issue", type_id, member, amount)

    def redeem_benefit_with_sig(
        self,
        holder: str,
        type_id: int,
        claim_ref: bytes,
        nonce: int,
        deadline: int,
        signature: bytes,
    ) -> Call:
        return self._badges(
            "redeemBenefitWithSig", holder, type_id, claim_ref, nonce, deadline, signature
        )

    def badge_nonces_call(self, holder: str) -> Call:
        return self._badges("nonces", holder)

    # -------------------------------------------------------------------- polls

    def _polls(self, function: str, *args: object) -> Call:
        if self.polls is None or self.polls_address is None:
            raise NotSupported("the AlliancePolls contract is not in the deployment manifest")
        return Call(self.polls_address, self.polls[function].encode(*args))

    def open_poll(
        self,
        content_hash: bytes,
        option_count: int,
        starts_at: int,
        ends_at: int,
        eligibility: int,
        eligibility_ref: int,
    ) -> Call:
        return self._polls(
            "openPoll", content_hash, option_count, starts_at, ends_at, eligibility, eligibility_ref
        )

    def vote_with_sig(
        self, poll_id: int, voter: str, option: int, deadline: int, signature: bytes
    ) -> Call:
        return self._polls("voteWithSig", poll_id, voter, option, deadline, signature)

    # -------------------------------------------------------------- enterprises

    def enterprise_call(self, function: str, *args: object) -> Call:
        """A call to EnterpriseAccounts (`bindWithSig`, `unbindWithSig`, `leaveWithSig`,
        `nonces`), with the arguments in the contract's order."""
        if self.enterprises is None or self.enterprises_address is None:
            raise NotSupported("the EnterpriseAccounts contract is not in the deployment manifest")
        return Call(self.enterprises_address, self.enterprises[function].encode(*args))

    # ----------------------------------------------------------------- auctions

    def auctions_call(self, function: str, *args: object) -> Call:
        """A call to AllianceAuctions (`createAuction`, `bidWithSig`, `settle`, its views), with
        the arguments in the contract's order; `NotSupported` when it is not deployed."""
        if self.auctions is None or self.auctions_address is None:
            raise NotSupported("the AllianceAuctions contract is not in the deployment manifest")
        return Call(self.auctions_address, self.auctions[function].encode(*args))

    # ---------------------------------------------------------------- settlement

    def vault_call(self, function: str, *args: object) -> Call:
        """A call to SettlementVault (`deposit`, `settle`, `withdraw`, its views), with the
        arguments in the contract's order; `NotSupported` when no vault is deployed."""
        if self.vault is None or self.vault_address is None:
            raise NotSupported("no SettlementVault in the deployment manifest")
        return Call(self.vault_address, self.vault[function].encode(*args))

    def token_call(self, token: str, function: str, *args: object) -> Call:
        """A call to the settlement token `token` (`balanceOf`, `allowance`, `approve`, `mint`)."""
        return Call(token, self.token[function].encode(*args))

    # -------------------------------------------------------------------- views

    def nonces_call(self, member: str) -> Call:
        return self._ledger("nonces", member)

    def is_operation_used_call(self, brand: int, op_id: int) -> Call:
        return self._ledger("isOperationUsed", brand, op_id)

    def brand_of_call(self, signer: str) -> Call:
        """`brandOf(signer)`: the ledger's brand id of a signer (0 for none)."""
        return self._ledger("brandOf", signer)

    def charity_pool_call(self) -> Call:
        return self._ledger("charityPool")

    def paused_call(self) -> Call:
        """`paused()`: the alliance's one pause, which every contract obeys."""
        return self._ledger("paused")
