"""Reads (from the gateway's index), health, webhooks and the event feed."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ledger_client._transport import Json, Transport


class Reads(Transport):
    def _get(self, path: str, **params: Any) -> Any:
        return self.request("GET", path, params=params)

    def member(self, address: str) -> Json:
        """`GET /v1/members/{address}`: balances, live lots, next expiry, tier and progress."""
        answer: Json = self._get(f"/v1/members/{address}")
        return answer

    def history(self, address: str, *, limit: int = 200, before: str | None = None) -> Json:
        """`GET /v1/members/{address}/history`: a page of the points growth report, newest
        first (`limit` lines, 1 to 1,000), older than `before` (a page's `next_cursor`; None:
        from the newest), with the whole history's `totals`."""
        answer: Json = self._get(f"/v1/members/{address}/history", limit=limit, before=before)
        return answer

    def history_lines(self, address: str, *, page_size: int = 1_000) -> Iterator[Json]:
        """Every line of the points growth report, newest first, page after page."""
        before = None
        while True:
            page = self.history(address, limit=page_size, before=before)
            yield from page["entries"]
            before = page.get("next_cursor")
            if before is None:
                return

    def badges(self, address: str) -> Json:
        """`GET /v1/members/{address}/badges`."""
        answer: Json = self._get(f"/v1/members/{address}/badges")
        return answer

    def liability(self, brand_id: int) -> Json:
        """`GET /v1/brands/{id}/liability`: issued, redeemed, expired, outstanding."""
        answer: Json = self._get(f"/v1/brands/{brand_id}/liability")
        return answer

    def positions(self) -> Json:
        """`GET /v1/settlement/positions`: net positions between brands (micro-USD)."""
        answer: Json = self._get("/v1/settlement/positions")
        return answer

    def health(self) -> Json:
        """`GET /v1/health`: `{"status"}`; each dependency with the admin key."""
        answer: Json = self._get("/v1/health")
        return answer

    # ------------------------------------------------------------------ webhooks

    def create_webhook(
        self, url: str, event_types: list[str] | None = None, *, idempotency_key: str | None = None
    ) -> Json:
        """`POST /v1/webhooks`: the endpoint with its `secret` (shown once)."""
        body = {"url": url, "event_types": event_types or []}
        answer: Json = self.request(
            "POST", "/v1/webhooks", body=body, idempotency_key=idempotency_key
        )
        return answer

    def webhooks(self) -> Json:
        """`GET /v1/webhooks`: `{"webhooks": [...]}`."""
        answer: Json = self._get("/v1/webhooks")
        return answer

    def delete_webhook(self, endpoint_id: str) -> Json:
        """`DELETE /v1/webhooks/{id}`."""
        answer: Json = self.request("DELETE", f"/v1/webhooks/{endpoint_id}")
        return answer

    def test_webhook(self, endpoint_id: str) -> Json:
        """`POST /v1/webhooks/{id}/test`: queues a test event; its delivery."""
        answer: Json = self.request("POST", f"/v1/webhooks/{endpoint_id}/test")
        return answer

    def deliveries(
        self,
        endpoint_id: str,
        *,
        status: str | None = None,
        before: str | None = None,
        limit: int = 100,
    ) -> Json:
        """`GET /v1/webhooks/{id}/deliveries`: a page, newest first, in `status` if given
        (pending, held, delivered, dead); `before` is a page's `next_cursor`."""
        answer: Json = self._get(
            f"/v1/webhooks/{endpoint_id}/deliveries", status=status, before=before, limit=limit
        )
        return answer

    def retry_delivery(self, endpoint_id: str, delivery_id: str) -> Json:
        """`POST /v1/webhooks/{id}/deliveries/{delivery_id}/retry`."""
        answer: Json = self.request(
            "POST", f"/v1/webhooks/{endpoint_id}/deliveries/{delivery_id}/retry"
        )
        return answer

    def events(
        self, *, after: str | None = None, types: list[str] | None = None, limit: int = 100
    ) -> Json:
        """`GET /v1/events`: a page of events after the cursor `after`, oldest first."""
        answer: Json = self._get(
            "/v1/events", after=after, types=",".join(types) if types else None, limit=limit
        )
        return answer
