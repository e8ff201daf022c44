"""The gateway's errors: one root, a small tree, one stable code each.

Every error a caller can see is a `LedgerError` with a stable machine-readable `code` and an HTTP
`status`. `error_bodies.error_body` is the one place that turns an error into the JSON body
``{"error": {"code", "message", "details"}}``; the app's exception handlers only call it.
Operations that fail on chain store the same code and message in their status.

    LedgerError                      500 internal
    ├── BadRequest                   400 bad_request
    │   ├── IdempotencyKeyRequired   400 idempotency_key_required
    │   ├── InvalidIdempotencyKey    400 invalid_idempotency_key
    │   ├── MalformedHttp            400 malformed_http (bytes no HTTP/1.1 request: the server's)
    │   └── MalformedBody            400 malformed_body (not JSON, or not the body's shape)
    │       └── BodyTooDeep          400 body_too_deep (JSON nested deeper than allowed)
    ├── InvalidRequest               422 invalid_request
    │   ├── InvalidAddress           422 invalid_address
    │   ├── InvalidAmount            422 invalid_amount
    │   ├── InvalidId                422 invalid_id (an id out of what the chain and database hold)
    │   ├── InvalidDeadline          422 invalid_deadline (beyond the allowed signing window)
    │   ├── InvalidMember            422 invalid_member
    │   ├── InvalidMultiplier        422 invalid_multiplier
    │   ├── ZeroPoints               422 zero_points
    │   ├── InvalidSignature         422 invalid_signature
    │   ├── SignatureExpired         422 signature_expired
    │   ├── InvalidNonce             422 invalid_nonce
    │   ├── InsufficientBalance      422 insufficient_balance
    │   ├── InvalidTier              422 invalid_tier
    │   ├── BadgeNoBenefit           422 badge_no_benefit
    │   ├── BadgeNotHeld             422 badge_not_held
    │   ├── BadgeTierTooLow          422 badge_tier_too_low (below the type's minimum tier)
    │   ├── BadgeSupplyExceeded      422 badge_supply_exceeded (past the type's max supply)
    │   ├── BadgeNotReserved         422 badge_not_reserved (an auction's issue past its units)
    │   ├── InvalidPollOption        422 poll_invalid_option
    │   ├── PollNotOpen              422 poll_not_open (the poll's window is over)
    │   ├── PollNotEligible          422 poll_not_eligible (not eligible when it opened)
    │   ├── InvalidWebhookUrl        422 invalid_webhook_url
    │   ├── InvalidEventType         422 invalid_event_type
    │   ├── InvalidCursor            422 invalid_cursor
    │   ├── DuplicateItemKey         422 duplicate_item_key (two items of one bulk request)
    │   ├── AuctionBidRefused        422 auction_tier_too_low, auction_bid_too_low (run on the node)
    │   └── ChainRejected            422 <the chain's error code> (any other custom error)
    ├── Unauthorized                 401 unauthorized
    ├── Forbidden                    403 forbidden
    │   └── BrandForbidden           403 brand_forbidden
    ├── NotFound                     404 not_found
    │   ├── UnknownBrand             404 unknown_brand
    │   ├── UnknownOperation         404 operation_not_found
    │   ├── UnknownBadge             404 unknown_badge
    │   ├── UnknownPoll              404 poll_not_found
    │   ├── UnknownAuction           404 auction_not_found
    │   ├── UnknownOrder             404 order_not_found (no purchase of the caller's brand)
    │   ├── UnknownApiKey            404 unknown_api_key
    │   ├── UnknownWebhook           404 webhook_not_found
    │   ├── UnknownDelivery          404 delivery_not_found
    │   └── UnknownCampaignRule      404 campaign_rule_not_found
    ├── Conflict                     409 conflict
    │   ├── IdempotencyConflict      409 idempotency_conflict
    │   ├── SignatureReplayed        409 signature_replayed
    │   ├── BrandSuspended           409 brand_suspended
    │   ├── BrandNotReady            409 brand_not_ready
    │   ├── BrandExists              409 brand_exists
    │   ├── TooManyApiKeys           409 too_many_api_keys
    │   ├── TooManyWebhooks          409 too_many_webhooks (endpoints per brand, or the admin's)
    │   ├── DailyCapExceeded         409 daily_cap_exceeded
    │   ├── DuplicateOrder           409 duplicate_order (details: the first operation_id)
    │   │   └── DuplicateEngagement  409 duplicate_engagement (a member's review, share... ref)
    │   ├── OrderNotSettled          409 order_not_settled (its earn is not confirmed yet)
    │   ├── ReversalExceedsOrder     409 reversal_exceeds_order (beyond credited - reversed)
    │   ├── ReversalWindowClosed     409 reversal_window_closed (the order's window closed)
    │   ├── AuctionStateConflict     409 <the contract's code> (auction_not_ended, ..._not_winning)
    │   ├── OperationUsed            409 operation_used
    │   ├── TierAlreadyReviewed      409 tier_already_reviewed
    │   ├── PollAlreadyVoted         409 poll_already_voted (on chain, or a vote in flight)
    │   ├── NothingToSettle          409 nothing_to_settle (the debtor owes the creditor nothing)
    │   ├── SettlementBelowOneUnit   409 settlement_below_one_unit (owed < one token unit)
    │   ├── InsufficientDeposit      409 insufficient_deposit (the vault deposit cannot pay it)
    │   ├── DepositBacksDebt         409 deposit_backs_debt (a withdrawal below what is owed)
    │   ├── TreasuryNotSet           409 treasury_not_set (nobody may withdraw yet)
    │   ├── DepositInProgress        409 deposit_in_progress (another deposit in flight)
    │   ├── InsufficientTokens       409 insufficient_tokens (the brand's signer lacks tokens)
    │   ├── CampaignRuleConflict     409 campaign_rule_conflict (one active rule per kind...)
    │   ├── LedgerPaused             409 ledger_paused
    │   └── LedgerNotPaused          409 ledger_not_paused
    ├── PayloadTooLarge              413 payload_too_large
    ├── UnsupportedMediaType         415 unsupported_media_type
    ├── RequestTimeout               408 request_timeout (a request not received in 30 s)
    ├── HeadersTooLarge              431 headers_too_large (a request's head past 64 KiB)
    ├── RateLimited                  429 rate_limited
    ├── NotSupported                 501 not_supported
    └── Unavailable                  503 unavailable
        ├── ChainUnavailable         503 chain_unavailable
        │   └── CreditNotIndexed     503 credit_not_indexed (a signer's: a credit not indexed yet)
        ├── DatabaseUnavailable      503 database_unavailable (its server away, or busy)
        ├── IndexNotReady            503 index_not_ready
        │   └── DeploymentMismatch   503 deployment_mismatch (the database is another deployment's)
        ├── KeyPassphraseMismatch    503 key_passphrase_mismatch (a sealed key does not open)
        └── StorageFull              507 storage_full (the database's disk is full)
"""

from __future__ import annotations

from typing import Any

from .base import InvalidRequest as InvalidRequest
from .base import LedgerError as LedgerError
from .program import AuctionBidRefused as AuctionBidRefused
from .program import BadgeNoBenefit as BadgeNoBenefit
from .program import BadgeNotHeld as BadgeNotHeld
from .program import BadgeNotReserved as BadgeNotReserved
from .program import BadgeSupplyExceeded as BadgeSupplyExceeded
from .program import BadgeTierTooLow as BadgeTierTooLow
from .program import InvalidPollOption as InvalidPollOption
from .program import PollNotEligible as PollNotEligible
from .program import PollNotOpen as PollNotOpen
from .transport import HeadersTooLarge as HeadersTooLarge
from .transport import PayloadTooLarge as PayloadTooLarge
from .transport import RequestTimeout as RequestTimeout
from .transport import UnsupportedMediaType as UnsupportedMediaType
from .unavailable import OPERATOR_ACTS_S as OPERATOR_ACTS_S
from .unavailable import ChainUnavailable as ChainUnavailable
from .unavailable import CreditNotIndexed as CreditNotIndexed
from .unavailable import DatabaseUnavailable as DatabaseUnavailable
from .unavailable import DeploymentMismatch as DeploymentMismatch
from .unavailable import IndexNotReady as IndexNotReady
from .unavailable import KeyPassphraseMismatch as KeyPassphraseMismatch
from .unavailable import StorageFull as StorageFull
from .unavailable import Unavailable as Unavailable


class BadRequest(LedgerError):
    code = "bad_request"
    status = 400
    default_message = "the request is malformed"


class IdempotencyKeyRequired(BadRequest):
    code = "idempotency_key_required"
    default_message = "mutating calls need an Idempotency-Key header (e.g. a UUID)"


class InvalidIdempotencyKey(BadRequest):
    code = "invalid_idempotency_key"
    default_message = "an Idempotency-Key is 1-255 visible ASCII characters, no space (a UUID)"


class MalformedHttp(BadRequest):
    """Bytes the HTTP server's parser refuses before any route sees them (a request line or
    header that is no HTTP/1.1, a broken chunk): answered by `process.http_protocol`, and the
    connection is closed."""

    code = "malformed_http"
    default_message = "not a valid HTTP/1.1 request (RFC 9112)"


class MalformedBody(BadRequest):
    code = "malformed_body"
    default_message = "the body is not valid JSON"


class BodyTooDeep(MalformedBody):
    code = "body_too_deep"
    default_message = "the JSON body is nested too deeply"


class InvalidAddress(InvalidRequest):
    code = "invalid_address"
    default_message = "not a valid 0x address (40 hex digits, EIP-55 checksum when mixed case)"


class InvalidAmount(InvalidRequest):
    code = "invalid_amount"
    default_message = "the amount must be a whole number between 1 and 1e12"


class InvalidId(InvalidRequest):
    code = "invalid_id"
    default_message = "the id is out of range"


class InvalidDeadline(InvalidRequest):
    code = "invalid_deadline"
    default_message = "the deadline is too far ahead"


class InvalidMember(InvalidRequest):
    code = "invalid_member"
    default_message = "the member address is not valid"


class InvalidMultiplier(InvalidRequest):
    code = "invalid_multiplier"
    default_message = "the multiplier must be between 1 and 1000 percent"


class ZeroPoints(InvalidRequest):
    code = "zero_points"
    default_message = "the operation would earn no points"


class InvalidSignature(InvalidRequest):
    code = "invalid_signature"
    default_message = "the member's signature does not match the typed data"


class SignatureExpired(InvalidRequest):
    code = "signature_expired"
    default_message = "the signature's deadline has passed"


class InvalidNonce(InvalidRequest):
    code = "invalid_nonce"
    default_message = "the signature's nonce is not the member's next nonce"


class InsufficientBalance(InvalidRequest):
    code = "insufficient_balance"
    default_message = (
        "the member's spendable balance is too small (points still in a return window and "
        "debits in flight do not count; details.available is what it may spend)"
    )


class InvalidTier(InvalidRequest):
    code = "invalid_tier"
    default_message = "the tier must be 1 (Silver), 2 (Gold) or 3 (Diamond)"


class InvalidWebhookUrl(InvalidRequest):
    code = "invalid_webhook_url"
    default_message = "the webhook URL is not allowed"


class InvalidEventType(InvalidRequest):
    code = "invalid_event_type"
    default_message = "unknown event type"


class InvalidCursor(InvalidRequest):
    code = "invalid_cursor"
    default_message = "the cursor is not one this feed handed out"


class DuplicateItemKey(InvalidRequest):
    code = "duplicate_item_key"
    default_message = "two items of the request share an item key"


class ChainRejected(InvalidRequest):
    """A custom error of the contracts with no dedicated class; `code` comes from the error."""

    default_message = "the ledger rejected the operation"

    def __init__(self, chain_code: str, message: str | None = None, **details: Any) -> None:
        super().__init__(message, **details)
        self.chain_code = chain_code

    error_code = property(lambda self: str(self.chain_code))


class Unauthorized(LedgerError):
    code = "unauthorized"
    status = 401
    default_message = "a valid API key is required (Authorization: Bearer <key>)"


class Forbidden(LedgerError):
    code = "forbidden"
    status = 403
    default_message = "this API key may not perform this call"


class BrandForbidden(Forbidden):
    code = "brand_forbidden"
    default_message = "a brand key acts on its own brand only"


class NotFound(LedgerError):
    code = "not_found"
    status = 404
    default_message = "not found"


class UnknownBrand(NotFound):
    code = "unknown_brand"
    default_message = "no such brand"


class UnknownOperation(NotFound):
    code = "operation_not_found"
    default_message = "no such operation"


class UnknownBadge(NotFound):
    code = "unknown_badge"
    default_message = "no such badge type"


class UnknownPoll(NotFound):
    code = "poll_not_found"
    default_message = "no such poll (or the index has not reached its opening yet)"


class UnknownAuction(NotFound):
    code = "auction_not_found"
    default_message = "no such auction (or the index has not reached its creation yet)"


class UnknownOrder(NotFound):
    code = "order_not_found"  # another brand's too: references are bound with its secret
    default_message = "no purchase of this brand has this order reference"


class UnknownApiKey(NotFound):
    code = "unknown_api_key"
    default_message = "no such API key"


class UnknownWebhook(NotFound):
    code = "webhook_not_found"
    default_message = "no such webhook endpoint"


class UnknownDelivery(NotFound):
    code = "delivery_not_found"
    default_message = "no such delivery"


class UnknownCampaignRule(NotFound):
    code = "campaign_rule_not_found"
    default_message = "no campaign rule of the caller's brand with this id"


class Conflict(LedgerError):
    code = "conflict"
    status = 409
    default_message = "the request conflicts with the current state"


class TooManyApiKeys(Conflict):
    code = "too_many_api_keys"
    default_message = "the brand holds its maximum of active API keys; revoke or replace one"


class TooManyWebhooks(Conflict):
    code = "too_many_webhooks"
    default_message = "the caller holds its maximum of webhook endpoints; delete one first"


class IdempotencyConflict(Conflict):
    code = "idempotency_conflict"
    default_message = "this Idempotency-Key was already used with a different request"


class SignatureReplayed(Conflict):
    code = "signature_replayed"
    default_message = "this signature's nonce was already used"


class BrandSuspended(Conflict):
    code = "brand_suspended"
    default_message = "the brand is suspended"


class BrandNotReady(Conflict):
    code = "brand_not_ready"
    default_message = "the brand is not onboarded on the ledger yet"


class BrandExists(Conflict):
    code = "brand_exists"
    default_message = "a brand with this name exists"


class DailyCapExceeded(Conflict):
    code = "daily_cap_exceeded"
    default_message = "the brand's daily mint cap would be exceeded"


class DuplicateOrder(Conflict):
    code = "duplicate_order"  # one order earns once (DOMAIN.md, "Returns"): details.operation_id
    default_message = "another operation credits this order, or is about to (details)"


class DuplicateEngagement(DuplicateOrder):
    code = "duplicate_engagement"  # a member's engagement with a `ref` earns once: operation_id
    default_message = "another operation credits this member's engagement (same kind and ref)"


class OrderNotSettled(Conflict):
    code = "order_not_settled"  # what the order credited is known once it is confirmed
    default_message = "the order's purchase is not confirmed yet; retry once it is"


class ReversalExceedsOrder(Conflict):
    code = "reversal_exceeds_order"  # details: order_, reversed_, requested_cents (DOMAIN.md)
    default_message = "the reversal exceeds what the order credited less earlier reversals"


class ReversalWindowClosed(Conflict):
    code = "reversal_window_closed"  # DOMAIN.md, "Returns"; `LedgerReversalWindowClosed`
    default_message = (
        "the order's return window closed: its brand may no longer reverse it (its points are "
        "the member's, or held until a later day beside other purchases of their month)"
    )


class AuctionStateConflict(Conflict):
    code = "auction_state_conflict"  # reported as `details["code"]`: the contract's own code
    codes: tuple[str, ...] = ("auction_not_open", "auction_not_ended", "auction_not_winning")
    codes += ("auction_grace_not_over", "auction_grace_over", "auction_already_redeemed")
    codes += ("auction_nothing_to_reclaim", "auction_escrow_empty", "auction_below_reserve")
    codes += ("auction_badge_not_unissued", "auction_badge_refused")
    error_code = property(lambda self: str(self.details.get("code", self.code)))


class OperationUsed(Conflict):
    code = "operation_used"
    default_message = "the operation id was already applied"


class PollAlreadyVoted(Conflict):
    code = "poll_already_voted"  # one vote per member and poll: details.operation_id if queued
    default_message = "the member already voted in this poll"


class TierAlreadyReviewed(Conflict):
    code = "tier_already_reviewed"
    default_message = "the member was already reviewed this quarter"


class NothingToSettle(Conflict):
    code = "nothing_to_settle"
    default_message = "the debtor owes the creditor nothing"


class SettlementBelowOneUnit(Conflict):
    code = "settlement_below_one_unit"  # details: owed_micro_usd, units_per_usd
    default_message = (
        "the debt is worth less than one unit of the settlement token: the vault pays whole "
        "units only, so it stays owed until it is worth one (a payment made outside the vault "
        "is acknowledged on the ledger itself, its settle, by the alliance admin's key)"
    )


class InsufficientDeposit(Conflict):
    code = "insufficient_deposit"
    default_message = "the brand's vault deposit does not cover the amount"


class DepositBacksDebt(Conflict):
    code = "deposit_backs_debt"
    default_message = "the deposit cannot fall below what the brand owes its creditors"


class TreasuryNotSet(Conflict):
    code = "treasury_not_set"
    default_message = "the brand has no treasury yet: the alliance admin sets its first one"


class DepositInProgress(Conflict):
    code = "deposit_in_progress"
    default_message = "another deposit of this brand is in flight or just moved its funds: retry"


class InsufficientTokens(Conflict):
    code = "insufficient_tokens"
    default_message = "the brand's signer holds too few settlement tokens: fund it first"


class CampaignRuleConflict(Conflict):
    code = "campaign_rule_conflict"
    default_message = "the campaign rule conflicts with the brand's rules"


class LedgerPaused(Conflict):
    code = "ledger_paused"
    default_message = "the ledger is paused"


class LedgerNotPaused(Conflict):
    code = "ledger_not_paused"  # an unpause asked of a ledger that runs (`PUT /v1/admin/pause`)
    default_message = "the ledger is not paused"


class RateLimited(LedgerError):
    code = "rate_limited"
    status = 429
    default_message = "too many requests for this API key"


class NotSupported(LedgerError):
    code = "not_supported"
    status = 501
    default_message = "not supported by the deployed contracts"
