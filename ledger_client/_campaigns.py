"""Earning campaigns (issue 16): a brand's rules (versioned, audited), the preview of an earn,
the brand's referrals, and the admin's cap on a combined multiplier. A rule is a dict as the
gateway takes it, e.g. `{"kind": "green", "name": "Green double", "multiplier_pct": 200}`."""

from __future__ import annotations

from typing import Any, Literal

from ledger_client._transport import Json, Transport, Wait

Engagement = Literal["review", "share", "event", "referral"]


class Campaigns(Transport):
    def campaign_rules(self) -> Json:
        """`GET /v1/campaigns/rules`: the caller's rules, the chain's base rule, the cap."""
        answer: Json = self.request("GET", "/v1/campaigns/rules")
        return answer

    def add_campaign_rule(self, rule: Json, *, idempotency_key: str | None = None) -> Json:
        """`POST /v1/campaigns/rules`: the new rule at version 1."""
        answer: Json = self.request(
            "POST", "/v1/campaigns/rules", body=rule, idempotency_key=idempotency_key
        )
        return answer

    def update_campaign_rule(
        self, rule_id: int, rule: Json, *, idempotency_key: str | None = None
    ) -> Json:
        """`PUT /v1/campaigns/rules/{id}`: the rule at its next version (same kind)."""
        answer: Json = self.request(
            "PUT", f"/v1/campaigns/rules/{rule_id}", body=rule, idempotency_key=idempotency_key
        )
        return answer

    def delete_campaign_rule(self, rule_id: int, *, idempotency_key: str | None = None) -> Json:
        """`DELETE /v1/campaigns/rules/{id}`: the rule, inactive, at its next version."""
        answer: Json = self.request(
            "DELETE", f"/v1/campaigns/rules/{rule_id}", idempotency_key=idempotency_key
        )
        return answer

    def campaign_rule_versions(self, rule_id: int) -> Json:
        """`GET /v1/campaigns/rules/{id}/versions`: who changed it, when, old and new."""
        answer: Json = self.request("GET", f"/v1/campaigns/rules/{rule_id}/versions")
        return answer

    def campaign_referrals(self, member: str | None = None) -> Json:
        """`GET /v1/campaigns/referrals`: waiting, credited and void referrals."""
        answer: Json = self.request("GET", "/v1/campaigns/referrals", params={"member": member})
        return answer

    def earn_preview(
        self,
        member: str,
        *,
        amount_cents: int | None = None,
        kind: Engagement | None = None,
        multiplier_pct: int = 100,
        **flags: Any,
    ) -> Json:
        """`POST /v1/earn/preview`: a purchase (`amount_cents`) or an engagement (`kind`);
        `flags`: `green`, `birthday_week`, `referrer`, `at`. Records nothing."""
        body: Json = {"member": member, "multiplier_pct": multiplier_pct, **flags}
        if kind is None:
            body |= {"type": "purchase", "amount_cents": amount_cents}
        else:
            body |= {"type": "engagement", "kind": kind}
        answer: Json = self.request("POST", "/v1/earn/preview", body=body)
        return answer

    def campaign_cap(self) -> Json:
        """`GET /v1/admin/campaigns/cap` (admin): the chain's cap, and a change not yet landed."""
        answer: Json = self.request("GET", "/v1/admin/campaigns/cap")
        return answer

    def set_campaign_cap(
        self, max_multiplier_pct: int, *, idempotency_key: str | None = None, wait: Wait = None
    ) -> Json:
        """`PUT /v1/admin/campaigns/cap` (admin): 100 to the chain's 1000, set on chain
        (`setMaxMultiplier`, an admin operation: its answer, or its final status with `wait`)."""
        answer: Json = self.request(
            "PUT",
            "/v1/admin/campaigns/cap",
            body={"max_multiplier_pct": max_multiplier_pct},
            idempotency_key=idempotency_key,
            wait=wait,
        )
        return answer
