"""How a contract's custom error reads in an answer: its `details` in the gateway's own
vocabulary (the keys and units its own refusals of the same code use), and a sentence for the
codes without an error class of their own.

A trial read `auction_bid_too_low` with `details.minValue` (raw micro-USD) from the chain, and
the same code with `details.starts_at` (ISO 8601) from the gateway's own check before the 202:
one code, two shapes. Now both give snake_case keys, times as ISO 8601 UTC, months, quarters
and days as labels (`2026-11`, `2026-Q4`, `2026-11-30`), values in micro-USD under
`*_micro_usd`, durations in seconds under `*_s`, brands under `*_id`; an EIP-712 `deadline`
stays unix seconds, as signed (the gateway's own `signature_expired` gives it so).
"""

from __future__ import annotations

from typing import Any

from ledger_api.chain.abi import snake_case
from ledger_api.domain import day_label, iso_utc, month_label, quarter_label

#: contract argument names whose values are unix seconds (`deadline` excepted: it is signed)
TIMESTAMPS = frozenset({"startsAt", "endsAt", "graceEndsAt", "releaseAt", "nowTimestamp"})
#: month indexes (months since January 1970, `Calendar`)
MONTHS = frozenset({"month", "fromMonth"})
#: durations in seconds
SECONDS = frozenset({"extension", "maxWindow"})
#: the last second a timestamp is shown as a date for (9999-12-31T23:59:59Z)
LAST_SHOWN_S = 253_402_300_799

#: the keys the gateway's own refusals use, where snake_case of the contract's name is not it
_KEYS: dict[str, str] = {
    "nowTimestamp": "block_time",  # the block's timestamp the contract compared
    "brand": "brand_id",
    "atBrand": "at_brand_id",
    "heldBrand": "held_brand_id",
    "ownerBrand": "owner_brand_id",
    "callerBrand": "caller_brand_id",
    "brandA": "brand_a_id",
    "brandB": "brand_b_id",
    "extension": "extension_s",
    "maxWindow": "max_window_s",
    "value": "value_micro_usd",
    "minValue": "min_value_micro_usd",
    "days_": "days",
}
#: per error, arguments whose unit only the error tells (an auction's reserve is points when
#: it is created, micro-USD when a settlement compares a bid's worth with it)
_ERROR_KEYS: dict[tuple[str, str], str] = {
    ("AuctionsBelowReserve", "worth"): "worth_micro_usd",
    ("AuctionsBelowReserve", "reserve"): "reserve_micro_usd",
    # settlement token units, as the gateway's own `insufficient_deposit` and
    # `deposit_backs_debt` name them
    ("VaultInsufficientDeposit", "deposit"): "deposit_units",
    ("VaultInsufficientDeposit", "needed"): "needed_units",
    ("VaultDepositBacksDebt", "deposit"): "deposit_units",
    ("VaultDepositBacksDebt", "amount"): "amount_units",
    ("VaultDepositBacksDebt", "owedUnits"): "required_units",  # what the deposit must keep
    # the brands of `settle(brandA, brandB)`: the debtor first when it owes, as the gateway
    # names them (`nothing_to_settle`)
    ("VaultNothingToSettle", "brandA"): "debtor",
    ("VaultNothingToSettle", "brandB"): "creditor",
    ("PointsInsufficientBalance", "balance"): "available",  # what the member may spend
    ("LedgerDailyMintCapExceeded", "cap"): "daily_cap_points",
    ("LedgerReversalWindowClosed", "releaseAt"): "window_closed_at",
}
#: `IAllianceAuctions.BidStatus`, as the index names a bid's status (`idx_auction_bids`)
BID_STATUSES = ("none", "held", "settled", "cancelled", "unissued")

#: what the contract's refusal means, for the codes with no error class (whose own default
#: message says it); the contract's error and its arguments follow in brackets
SAYS: dict[str, str] = {
    "not_brand_signer": "the sending key is not a signer of the brand",
    "signer_taken": "the key already signs for a brand",
    "brand_forbidden": "the brand may not make this call for another brand",
    "invalid_point_value": "a point's value must be 1 to 4,294,967,295 micro-USD",
    "reversal_exceeds_pending": "the reversal takes more points than the purchase left pending",
    "tier_rule_not_ascending": "the tier thresholds must rise from Silver to Diamond",
    "invalid_max_multiplier": "the multiplier cap is out of its bounds",
    "invalid_order_floor": "the order floor must be 0 to 31 whole USD",
    "invalid_recipient": "the points cannot go to that address",
    "invalid_sender": "the points cannot come from that address",
    "not_authorized": "the sending key lacks the role this call needs",
    "badge_foreign_type": "the badge type is another brand's",
    "badge_invalid_flags": "the badge type's kind, benefit and self-mint do not go together",
    "badge_empty_uri": "a badge type needs a metadata URI",
    "badge_already_redeemed": "the badge's benefit was already redeemed",
    "not_treasury": "only the brand's treasury may withdraw its deposit",
    "treasury_is_signer": "a brand's treasury cannot be one of its signing keys",
    "insufficient_tokens": "the treasury holds too few settlement tokens",
    "insufficient_allowance": "the treasury has not approved the vault for that many tokens",
    "poll_already_voted": "the member already voted in this poll",
    "poll_invalid_window": "the poll's window must start ahead and end after it, within 90 days",
    "poll_invalid_option_count": "a poll has 2 to the contract's maximum options",
    "poll_badge_not_soulbound": "a poll may only require a soulbound badge",
    "auction_invalid_window": "the auction's window must start ahead and end after it, within "
    "90 days",
    "auction_invalid_units": "an auction sells 1 to the contract's maximum units",
    "auction_invalid_price": "an auction needs a reserve and an increment of at least 1 point",
    "auction_invalid_badge": "the badge type is not the auctioning brand's",
    "auction_not_open": "the auction is not open for bids",
    "auction_tier_too_low": "the bidder's tier (after its due quarterly reviews) is below the "
    "auction's",
    "auction_brand_mismatch": "a raise must be in the points of the bid's brand",
    "auction_bid_too_low": "the bid's value (its points still live at the auction's end plus "
    "the week's grace) does not take a unit",
    "auction_wrong_escrow": "the bid's points must go to its own escrow",
    "auction_not_ended": "the auction has not ended",
    "auction_not_winning": "the bid does not hold a unit",
    "auction_awaiting_brand_redemption": "the auctioning brand must redeem the winning bid first",
    "auction_grace_not_over": "the week's grace after the end is not over",
    "auction_already_redeemed": "the winning bid was already redeemed",
    "auction_insufficient_gas": "the settlement was sent with too little gas",
    "auction_badge_not_unissued": "the bid's badge is not waiting to be issued",
    "auction_below_reserve": "what the escrow holds of the bid is worth less than the reserve",
    "enterprise_already_bound": "the employee is already bound to an enterprise account",
    "enterprise_not_bound": "the employee is not bound to that enterprise account",
    "enterprise_invalid_account": "that address cannot be an enterprise account",
    "panic": "the contract stopped on an internal check",
    "ledger_invalid_return_window": "the return window is beyond the ledger's bound (days)",
    "ledger_value_change_too_soon": "a brand's point value changes once a month at most",
    "ledger_reversal_quarter_mismatch": "the reversal names another quarter than its purchase's",
    "lot_overflow": "the member's lot of that month would pass 2^64 - 1 points",
    "alliance_badges_already_claimed": "the member already claimed this badge type",
    "alliance_badges_not_claimable": "members do not claim this badge type themselves",
    "alliance_badges_soulbound": "the badge is soulbound: it does not move",
    "membership_badge_soulbound": "the membership badge is soulbound: it does not move",
    "polls_empty_content": "a poll needs its content",
    "enterprise_too_many_employees": "the enterprise account holds its most employees",
    "vault_invalid_treasury": "a treasury is a non-zero address",
    "erc6909_insufficient_balance": "the holder's balance of the points is too small",
    "erc6909_insufficient_allowance": "the spender's allowance of the points is too small",
    "erc1155_insufficient_balance": "the holder holds too few units of the badge",
    "erc1155_invalid_receiver": "the receiving wallet refuses the badge",
}


def detail_key(error: str, name: str) -> str:
    """The key of the contract argument `name` of `error` in an answer's `details`."""
    if name == "status" and error.startswith("Auctions"):
        return "bid_status"  # a word of `BID_STATUSES`, as the gateway's own check names it
    return _ERROR_KEYS.get((error, name)) or _KEYS.get(name) or snake_case(name)


def detail_value(error: str, name: str, value: Any) -> Any:
    """The argument as the gateway's own refusals give it: a time as ISO 8601 UTC, a month,
    quarter or day as its label, a bid's status as its word; anything else (addresses, ids,
    points, micro-USD, seconds, a value out of range) as it is."""
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        return value
    if name in TIMESTAMPS and value <= LAST_SHOWN_S:
        return iso_utc(value)
    if name == "quarter" and value < 32_000:
        return quarter_label(value)
    if name in MONTHS and value < 96_000:
        return month_label(value)
    if name == "day" and value < 2_900_000:
        return day_label(value)
    if name == "status" and error.startswith("Auctions") and value < len(BID_STATUSES):
        return BID_STATUSES[value]
    return value


def details_of(error: str, args: dict[str, Any]) -> dict[str, Any]:
    """A revert's `details`: `chain_error` (the contract's error name) and its arguments. An
    auction's micro-USD values are decimal strings, as the auction reads and the gateway's own
    auction refusals give a bid's value (up to 10^12 points at 2^32 micro-USD each), and so
    are the vault's token units, as the deposit reads give them (uint256)."""
    out: dict[str, Any] = {"chain_error": error}
    for name, value in args.items():
        key = detail_key(error, name)
        said = detail_value(error, name, value)
        auction_value = error.startswith("Auctions") and key.endswith("_micro_usd")
        token_units = error.startswith("Vault") and key.endswith("_units")
        decimal = (auction_value or token_units) and isinstance(said, int)
        out[key] = str(said) if decimal else said
    return out
