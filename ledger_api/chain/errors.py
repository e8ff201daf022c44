"""Translation of the contracts' custom errors into the gateway's stable error codes."""

from __future__ import annotations

from typing import Any

from ledger_api import errors
from ledger_api.chain.abi import DecodedError, snake_case
from ledger_api.chain.error_words import (
    LAST_SHOWN_S,
    SAYS,
    SECONDS,
    detail_key,
    detail_value,
    details_of,
)
from ledger_api.domain import iso_utc

_CLASSES: dict[str, type[errors.LedgerError]] = {
    "LedgerUnknownBrand": errors.UnknownBrand,
    "LedgerBrandSuspended": errors.BrandSuspended,
    "LedgerInvalidMember": errors.InvalidMember,
    "LedgerInvalidAmount": errors.InvalidAmount,
    "LedgerInvalidMultiplier": errors.InvalidMultiplier,
    "LedgerZeroPoints": errors.ZeroPoints,
    "LedgerOperationUsed": errors.OperationUsed,
    "LedgerReversalWindowClosed": errors.ReversalWindowClosed,
    "LedgerSignatureExpired": errors.SignatureExpired,
    "LedgerInvalidSignature": errors.InvalidSignature,
    "PointsInsufficientBalance": errors.InsufficientBalance,
    "TierInvalid": errors.InvalidTier,
    "TierAlreadyReviewed": errors.TierAlreadyReviewed,
    "InvalidAccountNonce": errors.SignatureReplayed,
    "EnforcedPause": errors.LedgerPaused,
    "ExpectedPause": errors.LedgerNotPaused,  # an unpause of a ledger that runs
    "LedgerDailyMintCapExceeded": errors.DailyCapExceeded,  # the chain's cap (issue 10)
    "AllianceBadgesUnknownType": errors.UnknownBadge,
    "AllianceBadgesNoBenefit": errors.BadgeNoBenefit,
    "AllianceBadgesInvalidSignature": errors.InvalidSignature,
    "AllianceBadgesSignatureExpired": errors.SignatureExpired,
    "AllianceBadgesTierTooLow": errors.BadgeTierTooLow,
    "AllianceBadgesSupplyExceeded": errors.BadgeSupplyExceeded,
    "AllianceBadgesNotReserved": errors.BadgeNotReserved,
    "PollsUnknownPoll": errors.UnknownPoll,
    "AuctionsUnknownAuction": errors.UnknownAuction,
    "PollsInvalidSignature": errors.InvalidSignature,
    "PollsSignatureExpired": errors.SignatureExpired,
    "EnterpriseInvalidSignature": errors.InvalidSignature,
    "EnterpriseSignatureExpired": errors.SignatureExpired,
    "VaultUnknownBrand": errors.UnknownBrand,
    "VaultNothingToSettle": errors.NothingToSettle,
    "VaultBelowOneUnit": errors.SettlementBelowOneUnit,
    "VaultInsufficientDeposit": errors.InsufficientDeposit,
    "VaultDepositBacksDebt": errors.DepositBacksDebt,
    "VaultInvalidAmount": errors.InvalidAmount,
}

#: Stable codes of the other custom errors (anything else: snake_case of the name).
_CODES: dict[str, str] = {
    "LedgerNotBrandSigner": "not_brand_signer",
    "LedgerSignerTaken": "signer_taken",
    "LedgerNoBrandConsent": "brand_forbidden",  # a cross-brand redemption not sent by its brand
    "LedgerInvalidPointValue": "invalid_point_value",
    "LedgerReversalExceedsPending": "reversal_exceeds_pending",
    "TierRuleNotAscending": "tier_rule_not_ascending",
    "LedgerInvalidMaxMultiplier": "invalid_max_multiplier",
    "LedgerInvalidOrderFloor": "invalid_order_floor",
    "ERC6909InvalidReceiver": "invalid_recipient",
    "ERC6909InvalidSender": "invalid_sender",
    "AccessControlUnauthorizedAccount": "not_authorized",
    "AllianceBadgesNotBrandSigner": "not_brand_signer",
    "AllianceBadgesBrandInactive": "brand_suspended",
    "AllianceBadgesForeignType": "badge_foreign_type",
    "AllianceBadgesInvalidTier": "invalid_tier",
    "AllianceBadgesInvalidFlags": "badge_invalid_flags",
    "AllianceBadgesEmptyURI": "badge_empty_uri",
    "AllianceBadgesZeroAmount": "invalid_amount",
    "AllianceBadgesAlreadyRedeemed": "badge_already_redeemed",
    "VaultNotParty": "brand_forbidden",
    "VaultNotTreasury": "not_treasury",
    "VaultTreasuryIsSigner": "treasury_is_signer",
    "ERC20InsufficientBalance": "insufficient_tokens",
    "ERC20InsufficientAllowance": "insufficient_allowance",
    "PollsNotOpener": "not_brand_signer",
    "PollsNotEligible": "poll_not_eligible",
    "PollsAlreadyVoted": "poll_already_voted",
    "PollsNotOpen": "poll_not_open",
    "PollsInvalidOption": "poll_invalid_option",
    "PollsInvalidWindow": "poll_invalid_window",
    "PollsInvalidOptionCount": "poll_invalid_option_count",
    "PollsInvalidTier": "invalid_tier",
    "PollsBadgeNotSoulbound": "poll_badge_not_soulbound",
    "PollsForeignBadge": "badge_foreign_type",
    "AuctionsNotBrandSigner": "not_brand_signer",
    "AuctionsInvalidWindow": "auction_invalid_window",
    "AuctionsInvalidUnits": "auction_invalid_units",
    "AuctionsInvalidTier": "invalid_tier",
    "AuctionsInvalidPrice": "auction_invalid_price",
    "AuctionsInvalidBadge": "auction_invalid_badge",
    "AuctionsInvalidAmount": "invalid_amount",
    "AuctionsBrandInactive": "brand_suspended",
    "AuctionsNotOpen": "auction_not_open",
    "AuctionsTierTooLow": "auction_tier_too_low",
    "AuctionsBrandMismatch": "auction_brand_mismatch",
    "AuctionsBidTooLow": "auction_bid_too_low",
    "AuctionsWrongEscrow": "auction_wrong_escrow",
    "AuctionsNotEnded": "auction_not_ended",
    "AuctionsNotWinning": "auction_not_winning",
    "AuctionsAwaitingBrandRedemption": "auction_awaiting_brand_redemption",
    "AuctionsGraceNotOver": "auction_grace_not_over",
    "AuctionsAlreadyRedeemed": "auction_already_redeemed",
    "AuctionsInsufficientGas": "auction_insufficient_gas",  # settle sent with too little gas
    "AuctionsBadgeNotUnissued": "auction_badge_not_unissued",
    "AuctionsBelowReserve": "auction_below_reserve",
    "EnterpriseAlreadyBound": "enterprise_already_bound",
    "EnterpriseNotBound": "enterprise_not_bound",
    "EnterpriseInvalidAccount": "enterprise_invalid_account",
    "Panic": "panic",
    "Error": "reverted",
}


def error_code(name: str) -> str:
    """The stable code of a custom error name (also used for OperationSkipped reasons)."""
    cls = _CLASSES.get(name)
    if cls is not None:
        return cls.code
    return _CODES.get(name) or snake_case(name)


def shown(name: str, value: Any, error: str = "") -> str:
    """The argument `name` of the contract's error `error` as a person reads it: a timestamp
    (a signature's deadline too) as ISO 8601 UTC, a quarter as `2026-Q4`, a month as
    `2026-11`, a day as `2026-11-30`, a bid's status as its word (`error_words.detail_value`),
    micro-USD as `1.25 USD`, a duration as `3600 s`; anything else (addresses, ids, points, a
    value out of range) as it is. The error's `details` give it as `error_words.details_of`."""
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        return str(value)
    if name == "deadline" and value <= LAST_SHOWN_S:
        return iso_utc(value)
    said = detail_value(error, name, value)
    if said != value:
        return str(said)
    if detail_key(error, name).endswith("_micro_usd"):
        whole, micro = divmod(value, 1_000_000)
        return f"{whole}.{micro:06d}".rstrip("0").rstrip(".") + " USD"
    if name in SECONDS:
        return f"{value} s"
    return str(value)


def domain_error(decoded: DecodedError | None) -> errors.LedgerError:
    """The `LedgerError` a revert stands for. Its message says what the refusal means (the
    error class's own message, or `SAYS`), then names the contract's error with its arguments
    as people read them (`shown`: a trial read `TierAlreadyReviewed(quarter=227)`); its
    `details` carry `chain_error` and the arguments in the gateway's vocabulary
    (`error_words.details_of`: snake_case keys, ISO 8601 times, labels of months and quarters)."""
    if decoded is None:
        return errors.ChainRejected("reverted", "the transaction reverted without a known reason")
    said_args = (f"{k}={shown(k, v, decoded.name)}" for k, v in decoded.args.items())
    call = f"{decoded.name}({', '.join(said_args)})"
    details = details_of(decoded.name, decoded.args)
    cls = _CLASSES.get(decoded.name)
    error: errors.LedgerError
    if cls is not None:
        error = cls(f"{cls.default_message} ({call})", **details)
    else:
        code = error_code(decoded.name)
        said = SAYS.get(code)
        error = errors.ChainRejected(code, f"{said} ({call})" if said else call, **details)
    error.chain_args, error.chain_call = dict(decoded.args), call
    return error
