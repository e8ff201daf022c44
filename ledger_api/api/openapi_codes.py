"""The error codes each route of the gateway may answer, by HTTP status, as the OpenAPI
document lists them (`openapi.document`): the codes of the route's kind (any request, an
authenticated one, a mutation with or without an Idempotency-Key) and `_ROUTE_CODES`, the
route's own. A code a request body's field answers is listed only for the methods that take
that body (a GET never answers `invalid_amount`).
"""

from __future__ import annotations

import re

#: what any request may be answered before its route runs (body limits, unknown method)
_ANY: dict[int, list[str]] = {
    400: ["malformed_body", "body_too_deep"],
    405: ["method_not_allowed"],
    413: ["payload_too_large"],
    415: ["unsupported_media_type"],
    422: ["invalid_request"],
}
#: what an authenticated call may answer besides
_AUTHENTICATED: dict[int, list[str]] = {
    401: ["unauthorized"],
    403: ["forbidden", "brand_forbidden"],
    404: ["not_found"],
    429: ["rate_limited"],
    503: [
        "unavailable",
        "chain_unavailable",
        "index_not_ready",
        "database_unavailable",
        "deployment_mismatch",
    ],
}
#: what a mutation may answer besides
_MUTATION: dict[int, list[str]] = {
    400: ["idempotency_key_required", "invalid_idempotency_key"],
    409: ["idempotency_conflict", "ledger_paused"],
    501: ["not_supported"],
    507: ["storage_full"],
}
#: the same for a POST, PUT or DELETE that takes no Idempotency-Key (typed data, a preview,
#: webhook and key management)
_UNKEYED: dict[int, list[str]] = {
    409: ["ledger_paused"],
    501: ["not_supported"],
    507: ["storage_full"],
}
_SIGNED = {
    409: ["signature_replayed", "brand_suspended"],
    422: [
        "invalid_address",
        "invalid_amount",
        "invalid_signature",
        "signature_expired",
        "invalid_nonce",
        "invalid_deadline",
        "insufficient_balance",
    ],
    404: ["unknown_brand"],
}
#: what a route answers besides its kind's codes: (methods, "|"-separated, or "*", path pattern,
#: codes); a code of a body's field goes with the methods that take the body
_ROUTE_CODES: list[tuple[str, re.Pattern[str], dict[int, list[str]]]] = [
    (
        "post",
        re.compile(r"^/v1/earn/"),
        {
            422: ["invalid_address", "invalid_amount", "invalid_multiplier", "zero_points"],
            409: ["brand_suspended", "brand_not_ready", "daily_cap_exceeded", "operation_used"],
        },
    ),
    # an order credited once (`DuplicateOrder`), a member's engagement with a ref too; a bulk
    # request's items each under their own key
    ("post", re.compile(r"^/v1/earn/purchase$"), {409: ["duplicate_order"]}),
    ("post", re.compile(r"^/v1/earn/engagement$"), {409: ["duplicate_engagement"]}),
    ("post", re.compile(r"^/v1/earn/batch$"), {422: ["duplicate_item_key"]}),
    # a brand whose sealed keys do not open: its queue takes nothing (`Intake.submit`), and
    # an order, claim or engagement reference cannot be bound with its secret
    (
        "post|put|delete",
        re.compile(r"^/v1/(?!admin/|webhooks|keys)"),
        {503: ["key_passphrase_mismatch"]},
    ),
    (
        "post",
        re.compile(r"^/v1/earn/reversals$"),
        {
            404: ["order_not_found"],
            422: ["invalid_member"],
            409: [
                "order_not_settled",
                "reversal_exceeds_order",
                "reversal_window_closed",
            ],
        },
    ),
    ("post", re.compile(r"^/v1/(gifts|donations|redemptions)$"), _SIGNED),
    (
        "post",
        re.compile(r"^/v1/(gifts|donations|redemptions)/typed-data$"),
        {
            422: [
                "invalid_address",
                "invalid_amount",
                "invalid_nonce",
                "invalid_deadline",
                "signature_expired",
            ]
        },
    ),
    # the points' brand of a gift or a redemption (`schemas.BrandId`)
    ("post", re.compile(r"^/v1/(gifts|redemptions)(/typed-data)?$"), {422: ["invalid_id"]}),
    (
        "post",
        re.compile(r"^/v1/tiers/"),
        {422: ["invalid_address"], 409: ["tier_already_reviewed"]},
    ),
    (
        "post",
        re.compile(r"^/v1/badges/"),
        {
            404: ["unknown_badge"],
            409: ["signature_replayed", "brand_suspended"],
            422: [
                "invalid_address",
                "invalid_id",
                "invalid_tier",
                "badge_no_benefit",
                "badge_not_held",
                "invalid_signature",
                "signature_expired",
                "invalid_nonce",
                "invalid_deadline",
            ],
        },
    ),
    (
        "post",
        re.compile(r"^/v1/badges/issue$"),
        {
            422: [
                "invalid_amount",
                "badge_tier_too_low",
                "badge_supply_exceeded",
            ]
        },
    ),
    ("get", re.compile(r"^/v1/operations/"), {404: ["operation_not_found"], 422: ["invalid_id"]}),
    ("get", re.compile(r"^/v1/members/"), {422: ["invalid_address"]}),
    ("*", re.compile(r"^/v1/(admin/)?brands/"), {404: ["unknown_brand"], 422: ["invalid_id"]}),
    ("post", re.compile(r"^/v1/admin/brands$"), {409: ["brand_exists"], 422: ["invalid_amount"]}),
    (
        "*",
        re.compile(r"^/v1/admin/brands/\{brand_id\}/"),
        {409: ["brand_suspended", "brand_not_ready", "too_many_api_keys"]},
    ),
    # the admin's amounts: a point value, a daily cap, a tier's spend and gift (`admin_schemas`)
    (
        "put",
        re.compile(r"^/v1/admin/brands/\{brand_id\}/(point-value|daily-cap)$"),
        {422: ["invalid_amount"]},
    ),
    ("*", re.compile(r"^/v1/admin/tiers/"), {422: ["invalid_tier", "invalid_amount"]}),
    ("put", re.compile(r"^/v1/admin/pause$"), {409: ["ledger_not_paused"]}),
    (
        "*",
        re.compile(r"^/v1/(admin/api-keys|keys)"),
        {404: ["unknown_api_key"], 422: ["invalid_id"]},
    ),
    ("post", re.compile(r"^/v1/keys/rotate$"), {409: ["too_many_api_keys"]}),
    # an endpoint's body (`webhooks.WebhookCreate`)
    (
        "post",
        re.compile(r"^/v1/webhooks$"),
        {422: ["invalid_webhook_url", "invalid_event_type"], 409: ["too_many_webhooks"]},
    ),
    (
        "*",
        re.compile(r"^/v1/webhooks"),
        {404: ["webhook_not_found", "delivery_not_found"], 422: ["invalid_id"]},
    ),
    ("get", re.compile(r"^/v1/events$"), {422: ["invalid_cursor", "invalid_event_type"]}),
    ("get", re.compile(r"^/v1/webhooks/\{endpoint_id\}/deliveries$"), {422: ["invalid_cursor"]}),
    ("get", re.compile(r"^/v1/members/\{address\}/history$"), {422: ["invalid_cursor"]}),
    # a member's erasure (`api.erasure`): the address in the path
    ("delete", re.compile(r"^/v1/admin/members/\{address\}/profile$"), {422: ["invalid_address"]}),
    # the audit trail: a page's cursor; the admin's filter by brand (`api.audit`)
    ("get", re.compile(r"^/v1/(admin/)?audit$"), {422: ["invalid_cursor"]}),
    ("get", re.compile(r"^/v1/admin/audit$"), {404: ["unknown_brand"], 422: ["invalid_id"]}),
    (  # earning campaigns (issue 16 item 1): a rule, the preview or the cap in a body
        "post|put",
        re.compile(r"^/v1/(admin/)?campaigns/|^/v1/earn/preview$"),
        {
            404: ["campaign_rule_not_found"],
            409: ["campaign_rule_conflict", "brand_not_ready"],
            422: ["invalid_campaign_rule", "invalid_multiplier", "invalid_address", "invalid_id"],
        },
    ),
    # a rule id in the path, a referral's member
    ("*", re.compile(r"^/v1/campaigns/rules/"), {404: ["campaign_rule_not_found"]}),
    ("*", re.compile(r"^/v1/campaigns/rules/\{rule_id\}"), {422: ["invalid_id"]}),
    ("get", re.compile(r"^/v1/campaigns/referrals$"), {422: ["invalid_address"]}),
    # a rule's body: a welcome pack's points (`campaigns.WelcomePackRule`)
    ("post", re.compile(r"^/v1/campaigns/rules$"), {422: ["invalid_amount"]}),
    ("post", re.compile(r"^/v1/earn/preview$"), {422: ["invalid_member"]}),
    ("put", re.compile(r"^/v1/campaigns/rules/\{rule_id\}$"), {422: ["invalid_amount"]}),
    (  # auctions (issue 16 item 2): signed bids, settlements read from the chain, new terms
        "post",
        re.compile(r"^/v1/auctions"),
        {
            404: ["auction_not_found", "unknown_badge", "unknown_brand"],
            409: [
                "auction_not_open",
                "auction_not_ended",
                "auction_not_winning",
                "auction_grace_not_over",
                "auction_grace_over",
                "auction_already_redeemed",
                "auction_nothing_to_reclaim",
                "auction_escrow_empty",
                "auction_below_reserve",
                "auction_badge_not_unissued",
                "auction_badge_refused",
                "signature_replayed",
                "brand_suspended",
            ],
            422: [
                "invalid_address",
                "invalid_amount",
                "invalid_id",
                "invalid_signature",
                "signature_expired",
                "invalid_nonce",
                "invalid_deadline",
                "insufficient_balance",
                "badge_no_benefit",
            ],
        },
    ),
    # an auction id in the path
    (
        "*",
        re.compile(r"^/v1/auctions/\{auction_id\}"),
        {404: ["auction_not_found"], 422: ["invalid_id"]},
    ),
    (  # a bid is run on the node before its document and its 202 (`AuctionsService`)
        "post",
        re.compile(r"^/v1/auctions/\{auction_id\}/bids(/typed-data)?$"),
        {422: ["auction_tier_too_low", "auction_bid_too_low"]},
    ),
    # polls (`program`): a poll id in the path; a new poll's eligibility (`EligibilityRef`)
    (
        "*",
        re.compile(r"^/v1/polls/\{poll_id\}"),
        {404: ["poll_not_found"], 422: ["invalid_id"]},
    ),
    ("post", re.compile(r"^/v1/polls$"), {422: ["invalid_id", "invalid_tier"]}),
    (
        "post",
        re.compile(r"^/v1/polls/\{poll_id\}/votes"),
        {
            422: [
                "invalid_address",
                "invalid_deadline",
                "signature_expired",
                "poll_invalid_option",
                "poll_not_open",
                "poll_not_eligible",
            ],
            409: ["poll_already_voted"],
        },
    ),
    (
        "post",
        re.compile(r"^/v1/polls/\{poll_id\}/votes$"),
        {422: ["invalid_signature", "signature_expired"]},
    ),
    # enterprise accounts: signed bindings, unbindings and leaves, and their typed data
    (
        "post",
        re.compile(r"^/v1/enterprises/"),
        {422: ["invalid_address", "invalid_deadline", "signature_expired"]},
    ),
    (
        "post",
        re.compile(r"^/v1/enterprises/(bindings|unbindings|leaves)$"),
        {
            409: ["signature_replayed"],
            422: ["invalid_signature", "signature_expired", "invalid_nonce"],
        },
    ),
    # settlement through the SettlementVault (issue 13 item 3)
    (
        "get",
        re.compile(r"^/v1/settlement/deposits/"),
        {404: ["unknown_brand"], 422: ["invalid_id"]},
    ),
    (
        "post",
        re.compile(r"^/v1/settlement/deposits$"),
        {
            409: [
                "brand_not_ready",
                "brand_suspended",
                "deposit_in_progress",
                "insufficient_tokens",
            ],
            422: ["invalid_amount"],
            503: ["unavailable"],
        },
    ),
    (
        "post",
        re.compile(r"^/v1/settlement/settle$"),
        {
            409: [
                "brand_not_ready",
                "brand_suspended",
                "nothing_to_settle",
                "settlement_below_one_unit",
                "insufficient_deposit",
            ],
            404: ["unknown_brand"],
            422: ["invalid_id"],
        },
    ),
    (
        "post",
        re.compile(r"^/v1/settlement/withdrawals/transaction$"),
        {
            409: [
                "brand_not_ready",
                "treasury_not_set",
                "insufficient_deposit",
                "deposit_backs_debt",
            ],
            422: ["invalid_amount", "invalid_address", "invalid_id"],
        },
    ),
]
#: paths any caller may call without a key (a key given must still be valid)
PUBLIC_PATHS = frozenset({"/v1/health"})
_MUTATING = {"post", "put", "patch", "delete"}


def error_codes(method: str, path: str, keyed: bool = True) -> dict[int, list[str]]:
    """The error codes `method path` may answer, by HTTP status (the document lists them);
    `keyed`: a mutation that needs an Idempotency-Key."""
    layers = [_ANY]
    if path in PUBLIC_PATHS:
        layers.append({401: _AUTHENTICATED[401]})
    else:
        layers.append(_AUTHENTICATED)
    if method in _MUTATING:
        layers.append(_MUTATION if keyed else _UNKEYED)
    layers += [
        codes
        for methods, pattern, codes in _ROUTE_CODES
        if (methods == "*" or method in methods.split("|")) and pattern.search(path)
    ]
    merged: dict[int, list[str]] = {}
    for layer in layers:
        for status, codes in layer.items():
            merged.setdefault(status, [])
            merged[status] += [c for c in codes if c not in merged[status]]
    return dict(sorted(merged.items()))
