"""Brand operations: earn, member-signed moves (typed data, then the signed relay), tier
reviews and badges. Each mutation takes `idempotency_key` (a fresh UUID when omitted; pass
your own to make a retry of your own process safe) and `wait` (answer at confirmation)."""

from __future__ import annotations

from typing import Any, Literal

from ledger_client._transport import Json, Transport, Wait

Engagement = Literal["review", "share", "event", "referral"]


def _body(**fields: Any) -> Json:
    return {k: v for k, v in fields.items() if v is not None}


class Operations(Transport):
    def earn_purchase(
        self,
        member: str,
        amount_cents: int,
        order_ref: str,
        *,
        multiplier_pct: int = 100,
        green: bool = False,
        birthday_week: bool = False,
        referrer: str | None = None,
        idempotency_key: str | None = None,
        wait: Wait = None,
    ) -> Json:
        """`POST /v1/earn/purchase`: 202 `OperationAccepted`, or the final status with `wait`.
        `green`, `birthday_week`, `referrer`: for the brand's campaign rules (issue 16)."""
        body = _body(
            member=member,
            amount_cents=amount_cents,
            order_ref=order_ref,
            multiplier_pct=multiplier_pct,
            green=green or None,
            birthday_week=birthday_week or None,
            referrer=referrer,
        )
        answer: Json = self.request(
            "POST", "/v1/earn/purchase", body=body, idempotency_key=idempotency_key, wait=wait
        )
        return answer

    def earn_engagement(
        self,
        member: str,
        kind: Engagement,
        *,
        ref: str | None = None,
        multiplier_pct: int = 100,
        birthday_week: bool = False,
        idempotency_key: str | None = None,
        wait: Wait = None,
    ) -> Json:
        """`POST /v1/earn/engagement`."""
        body = _body(
            member=member,
            kind=kind,
            ref=ref,
            multiplier_pct=multiplier_pct,
            birthday_week=birthday_week or None,
        )
        answer: Json = self.request(
            "POST", "/v1/earn/engagement", body=body, idempotency_key=idempotency_key, wait=wait
        )
        return answer

    def reverse_order(
        self,
        order_ref: str,
        *,
        amount_cents: int | None = None,
        member: str | None = None,
        idempotency_key: str | None = None,
        wait: Wait = None,
    ) -> Json:
        """`POST /v1/earn/reversals`: cancel a returned order's pending points (the whole
        remainder when `amount_cents` is None)."""
        body = _body(order_ref=order_ref, amount_cents=amount_cents, member=member)
        answer: Json = self.request(
            "POST", "/v1/earn/reversals", body=body, idempotency_key=idempotency_key, wait=wait
        )
        return answer

    def gift_typed_data(
        self,
        member: str,
        to: str,
        amount: int,
        *,
        brand: int | None = None,
        deadline: int | None = None,
    ) -> Json:
        """`POST /v1/gifts/typed-data`: `{"typed_data", "nonce", "deadline"}` to sign."""
        body = _body(member=member, to=to, amount=amount, brand=brand, deadline=deadline)
        answer: Json = self.request("POST", "/v1/gifts/typed-data", body=body)
        return answer

    def gift(
        self,
        member: str,
        to: str,
        amount: int,
        *,
        nonce: int,
        deadline: int,
        signature: str,
        brand: int | None = None,
        idempotency_key: str | None = None,
        wait: Wait = None,
    ) -> Json:
        """`POST /v1/gifts`: relays a gift the member signed."""
        body = _body(
            member=member,
            to=to,
            amount=amount,
            brand=brand,
            nonce=nonce,
            deadline=deadline,
            signature=signature,
        )
        answer: Json = self.request(
            "POST", "/v1/gifts", body=body, idempotency_key=idempotency_key, wait=wait
        )
        return answer

    def donation_typed_data(self, member: str, amount: int, *, deadline: int | None = None) -> Json:
        """`POST /v1/donations/typed-data`."""
        body = _body(member=member, amount=amount, deadline=deadline)
        answer: Json = self.request("POST", "/v1/donations/typed-data", body=body)
        return answer

    def donate(
        self,
        member: str,
        amount: int,
        *,
        nonce: int,
        deadline: int,
        signature: str,
        idempotency_key: str | None = None,
        wait: Wait = None,
    ) -> Json:
        """`POST /v1/donations`: relays a donation to the charity pool the member signed."""
        body = _body(
            member=member, amount=amount, nonce=nonce, deadline=deadline, signature=signature
        )
        answer: Json = self.request(
            "POST", "/v1/donations", body=body, idempotency_key=idempotency_key, wait=wait
        )
        return answer

    def redemption_typed_data(
        self, member: str, brand: int, amount: int, order_ref: str, *, deadline: int | None = None
    ) -> Json:
        """`POST /v1/redemptions/typed-data`: redeem `brand`'s points at the caller's brand."""
        body = _body(
            member=member, brand=brand, amount=amount, order_ref=order_ref, deadline=deadline
        )
        answer: Json = self.request("POST", "/v1/redemptions/typed-data", body=body)
        return answer

    def redeem(
        self,
        member: str,
        brand: int,
        amount: int,
        order_ref: str,
        *,
        nonce: int,
        deadline: int,
        signature: str,
        idempotency_key: str | None = None,
        wait: Wait = None,
    ) -> Json:
        """`POST /v1/redemptions`: relays a redemption the member signed."""
        body = _body(
            member=member,
            brand=brand,
            amount=amount,
            order_ref=order_ref,
            nonce=nonce,
            deadline=deadline,
            signature=signature,
        )
        answer: Json = self.request(
            "POST", "/v1/redemptions", body=body, idempotency_key=idempotency_key, wait=wait
        )
        return answer

    def review_tier(
        self, address: str, *, idempotency_key: str | None = None, wait: Wait = None
    ) -> Json:
        """`POST /v1/tiers/{address}/review`: the member's quarterly tier review."""
        answer: Json = self.request(
            "POST", f"/v1/tiers/{address}/review", idempotency_key=idempotency_key, wait=wait
        )
        return answer

    def create_badge_type(
        self,
        kind: Literal["achievement", "collectible"],
        uri: str,
        *,
        max_supply: int = 0,
        min_tier: int = 0,
        has_benefit: bool = False,
        self_mint: bool = False,
        idempotency_key: str | None = None,
        wait: Wait = None,
    ) -> Json:
        """`POST /v1/badges/types`."""
        body = _body(
            kind=kind,
            uri=uri,
            max_supply=max_supply,
            min_tier=min_tier,
            has_benefit=has_benefit,
            self_mint=self_mint,
        )
        answer: Json = self.request(
            "POST", "/v1/badges/types", body=body, idempotency_key=idempotency_key, wait=wait
        )
        return answer

    def issue_badge(
        self,
        type_id: int,
        member: str,
        *,
        amount: int = 1,
        idempotency_key: str | None = None,
        wait: Wait = None,
    ) -> Json:
        """`POST /v1/badges/issue`."""
        body = _body(type_id=type_id, member=member, amount=amount)
        answer: Json = self.request(
            "POST", "/v1/badges/issue", body=body, idempotency_key=idempotency_key, wait=wait
        )
        return answer

    def benefit_typed_data(
        self, holder: str, type_id: int, claim_ref: str, *, deadline: int | None = None
    ) -> Json:
        """`POST /v1/badges/benefit-redemptions/typed-data`."""
        body = _body(holder=holder, type_id=type_id, claim_ref=claim_ref, deadline=deadline)
        answer: Json = self.request("POST", "/v1/badges/benefit-redemptions/typed-data", body=body)
        return answer

    def redeem_benefit(
        self,
        holder: str,
        type_id: int,
        claim_ref: str,
        *,
        nonce: int,
        deadline: int,
        signature: str,
        idempotency_key: str | None = None,
        wait: Wait = None,
    ) -> Json:
        """`POST /v1/badges/benefit-redemptions`: a holder-signed, once-only benefit."""
        body = _body(
            holder=holder,
            type_id=type_id,
            claim_ref=claim_ref,
            nonce=nonce,
            deadline=deadline,
            signature=signature,
        )
        answer: Json = self.request(
            "POST",
            "/v1/badges/benefit-redemptions",
            body=body,
            idempotency_key=idempotency_key,
            wait=wait,
        )
        return answer

    def operation(self, operation_id: str, *, wait: Wait = None) -> Json:
        """`GET /v1/operations/{id}`: `queued`, `submitted`, `confirmed` or `failed`."""
        answer: Json = self.request("GET", f"/v1/operations/{operation_id}", wait=wait)
        return answer
