"""Translation of the contracts' custom errors into the gateway's stable error codes."""

from __future__ import annotations

from ledger_api import errors
from ledger_api.chain.abi import DecodedError, snake_case

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
    "PollsUnknownPoll": errors.UnknownPoll,
    "AuctionsUnknownAuction": errors.UnknownAuction,
    "PollsInvalidSignature": errors.InvalidSignature,
    "PollsSignatureExpired": errors.SignatureExpired,
    "EnterpriseInvalidSignature": errors.InvalidSignature,
    "EnterpriseSignatureExpired": errors.SignatureExpired,
    "VaultUnknownBrand": errors.UnknownBrand,
    "VaultNothingToSettle": errors.NothingToSettle,
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
    "AllianceBadgesSupplyExceeded": "badge_supply_exceeded",
    "AllianceBadgesNotReserved": "badge_not_reserved",  # an issuer's issue beyond its reservation
    "AllianceBadgesTierTooLow": "badge_tier_too_low",
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


def domain_error(decoded: DecodedError | None) -> errors.LedgerError:
    """The `LedgerError` a revert stands for."""
    if decoded is None:
        return errors.ChainRejected("reverted", "the transaction reverted without a known reason")
    message = f"{decoded.name}({', '.join(f'{k}={v}' for k, v in decoded.args.items())})"
    cls = _CLASSES.get(decoded.name)
    if cls is not None:
        return cls(message, chain_error=decoded.name, **decoded.args)
    return errors.ChainRejected(
        error_code(decoded.name), message, chain_error=decoded.name, **decoded.args
    )
