"""Alliance administration (admin key) and a brand's own API key."""

from __future__ import annotations

from ledger_client._transport import Json, Transport, Wait


class Admin(Transport):
    def create_brand(
        self,
        name: str,
        symbol: str,
        *,
        value_micro_usd: int = 10_000,
        earn_rule: dict[str, int] | None = None,
        daily_cap_points: int | None = None,
        idempotency_key: str | None = None,
        wait: Wait = None,
    ) -> Json:
        """`POST /v1/admin/brands`: `{"brand", "operation_id", "api_key"}` (the key once)."""
        body: Json = {"name": name, "symbol": symbol, "value_micro_usd": value_micro_usd}
        if earn_rule is not None:
            body["earn_rule"] = earn_rule
        if daily_cap_points is not None:
            body["daily_cap_points"] = daily_cap_points
        answer: Json = self.request(
            "POST", "/v1/admin/brands", body=body, idempotency_key=idempotency_key, wait=wait
        )
        return answer

    def brands(self) -> list[Json]:
        """`GET /v1/admin/brands`."""
        answer: list[Json] = self.request("GET", "/v1/admin/brands")
        return answer

    def brand(self, brand_id: int) -> Json:
        """`GET /v1/admin/brands/{brand_id}`: one brand as `brands` lists it; `unknown_brand`
        (404) when no brand has the ledger id (given when its onboarding lands on chain)."""
        answer: Json = self.request("GET", f"/v1/admin/brands/{brand_id}")
        return answer

    def suspend_brand(
        self,
        brand_id: int,
        suspended: bool = True,
        *,
        idempotency_key: str | None = None,
        wait: Wait = None,
    ) -> Json:
        """`POST /v1/admin/brands/{id}/suspension` (`suspended=False` lifts it)."""
        answer: Json = self.request(
            "POST",
            f"/v1/admin/brands/{brand_id}/suspension",
            body={"suspended": suspended},
            idempotency_key=idempotency_key,
            wait=wait,
        )
        return answer

    def set_paused(
        self, paused: bool = True, *, idempotency_key: str | None = None, wait: Wait = None
    ) -> Json:
        """`PUT /v1/admin/pause`: `pause()` (or `unpause()` with `paused=False`), an admin
        operation; `LedgerApiError` 409 `ledger_paused` / `ledger_not_paused` when the ledger
        already is so."""
        answer: Json = self.request(
            "PUT",
            "/v1/admin/pause",
            body={"paused": paused},
            idempotency_key=idempotency_key,
            wait=wait,
        )
        return answer

    def set_point_value(
        self,
        brand_id: int,
        value_micro_usd: int,
        *,
        idempotency_key: str | None = None,
        wait: Wait = None,
    ) -> Json:
        """`PUT /v1/admin/brands/{id}/point-value`: a recorded governance act."""
        answer: Json = self.request(
            "PUT",
            f"/v1/admin/brands/{brand_id}/point-value",
            body={"value_micro_usd": value_micro_usd},
            idempotency_key=idempotency_key,
            wait=wait,
        )
        return answer

    def set_daily_cap(
        self,
        brand_id: int,
        daily_cap_points: int,
        *,
        idempotency_key: str | None = None,
        wait: Wait = None,
    ) -> Json:
        """`PUT /v1/admin/brands/{id}/daily-cap`: the brand's daily mint cap, set on chain."""
        answer: Json = self.request(
            "PUT",
            f"/v1/admin/brands/{brand_id}/daily-cap",
            body={"daily_cap_points": daily_cap_points},
            idempotency_key=idempotency_key,
            wait=wait,
        )
        return answer

    def set_return_window(
        self,
        brand_id: int,
        days: int,
        *,
        idempotency_key: str | None = None,
        wait: Wait = None,
    ) -> Json:
        """`PUT /v1/admin/brands/{id}/return-window`: days (0-90) a purchase's points stay
        pending; a new brand has 14."""
        answer: Json = self.request(
            "PUT",
            f"/v1/admin/brands/{brand_id}/return-window",
            body={"days": days},
            idempotency_key=idempotency_key,
            wait=wait,
        )
        return answer

    def set_tier_rule(
        self,
        tier: int,
        *,
        spend_cents: int,
        orders: int,
        engagements: int,
        gift_points: int = 0,
        idempotency_key: str | None = None,
        wait: Wait = None,
    ) -> Json:
        """`PUT /v1/admin/tiers/{tier}` (1 Silver, 2 Gold, 3 Diamond)."""
        body = {
            "spend_cents": spend_cents,
            "orders": orders,
            "engagements": engagements,
            "gift_points": gift_points,
        }
        answer: Json = self.request(
            "PUT", f"/v1/admin/tiers/{tier}", body=body, idempotency_key=idempotency_key, wait=wait
        )
        return answer

    def set_order_floor(
        self, order_floor_usd: int, *, idempotency_key: str | None = None, wait: Wait = None
    ) -> Json:
        """`PUT /v1/admin/order-floor`: the least counted spend, in whole USD (0 to 31), for a
        purchase to count as an order toward the tiers (`setOrderFloor`; 0: every purchase)."""
        body = {"order_floor_usd": order_floor_usd}
        answer: Json = self.request(
            "PUT", "/v1/admin/order-floor", body=body, idempotency_key=idempotency_key, wait=wait
        )
        return answer

    def rotate_brand_key(
        self,
        brand_id: int,
        *,
        keep_old: bool = False,
        label: str = "",
        idempotency_key: str | None = None,
    ) -> Json:
        """`POST /v1/admin/brands/{id}/api-keys`: `{"prefix", "api_key", "brand_id"}`."""
        answer: Json = self.request(
            "POST",
            f"/v1/admin/brands/{brand_id}/api-keys",
            body={"keep_old": keep_old, "label": label},
            idempotency_key=idempotency_key,
        )
        return answer

    def create_admin_key(self, *, idempotency_key: str | None = None) -> Json:
        """`POST /v1/admin/api-keys`: another admin key (shown once)."""
        answer: Json = self.request("POST", "/v1/admin/api-keys", idempotency_key=idempotency_key)
        return answer

    def revoke_key(self, prefix: str) -> None:
        """`DELETE /v1/admin/api-keys/{prefix}`."""
        self.request("DELETE", f"/v1/admin/api-keys/{prefix}")

    def erase_member_profile(self, address: str) -> Json:
        """`DELETE /v1/admin/members/{address}/profile`: erases the member's off-chain data
        (birthday-week records, referrals); `{"member", "erased": {kind: count}}`. Idempotent:
        again, zero counts."""
        answer: Json = self.request("DELETE", f"/v1/admin/members/{address}/profile")
        return answer

    def rotate_own_key(
        self, *, keep_old: bool = False, label: str = "", idempotency_key: str | None = None
    ) -> Json:
        """`POST /v1/keys/rotate`: a brand replaces its calling key. The client keeps using
        the old key; build a new client with the answer's `api_key`."""
        answer: Json = self.request(
            "POST",
            "/v1/keys/rotate",
            body={"keep_old": keep_old, "label": label},
            idempotency_key=idempotency_key,
        )
        return answer

    def revoke_own_key(self) -> None:
        """`DELETE /v1/keys/current`: the calling key stops working at once."""
        self.request("DELETE", "/v1/keys/current")
