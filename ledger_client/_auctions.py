"""Auctions of scarce rewards for points (issue 16 item 2). Mutations take `idempotency_key`
(a fresh UUID when omitted) and `wait`."""

from __future__ import annotations

from ledger_client._operations import _body as _fields
from ledger_client._transport import Json, Transport, Wait


class Auctions(Transport):
    def create_auction(
        self,
        badge_type: int,
        reserve: int,
        increment: int,
        starts_at: int,
        ends_at: int,
        *,
        units: int = 1,
        min_tier: int = 3,
        extension_s: int = 300,
        idempotency_key: str | None = None,
        wait: Wait = None,
    ) -> Json:
        """`POST /v1/auctions`: an auction of the caller's brand for `units` units of its
        collectible `badge_type` (with a benefit); reserve and increment in its points, times in
        unix seconds (UTC); a bid in the last `extension_s` seconds extends the end."""
        body = _fields(
            badge_type=badge_type,
            units=units,
            min_tier=min_tier,
            reserve=reserve,
            increment=increment,
            starts_at=starts_at,
            ends_at=ends_at,
            extension_s=extension_s,
        )
        answer: Json = self.request(
            "POST", "/v1/auctions", body=body, idempotency_key=idempotency_key, wait=wait
        )
        return answer

    def bid_typed_data(
        self,
        auction_id: int,
        bidder: str,
        amount: int,
        *,
        brand: int | None = None,
        deadline: int | None = None,
    ) -> Json:
        """`POST /v1/auctions/{id}/bids/typed-data`: the ledger Gift of `amount` points (of
        `brand`, default the caller's) to the bidder's escrow, its nonce and the escrow."""
        body = _fields(bidder=bidder, amount=amount, brand=brand, deadline=deadline)
        answer: Json = self.request("POST", f"/v1/auctions/{auction_id}/bids/typed-data", body=body)
        return answer

    def bid(
        self,
        auction_id: int,
        bidder: str,
        amount: int,
        *,
        nonce: int,
        deadline: int,
        signature: str,
        brand: int | None = None,
        idempotency_key: str | None = None,
        wait: Wait = None,
    ) -> Json:
        """`POST /v1/auctions/{id}/bids`: relays the member's signed bid (its points go to its
        escrow; an outbid bid returns at once)."""
        body = _fields(
            bidder=bidder,
            amount=amount,
            brand=brand,
            nonce=nonce,
            deadline=deadline,
            signature=signature,
        )
        answer: Json = self.request(
            "POST",
            f"/v1/auctions/{auction_id}/bids",
            body=body,
            idempotency_key=idempotency_key,
            wait=wait,
        )
        return answer

    def settle_bid(
        self,
        auction_id: int,
        bidder: str,
        *,
        idempotency_key: str | None = None,
        wait: Wait = None,
    ) -> Json:
        """`POST /v1/auctions/{id}/settlements`: the next step of closing `bidder`'s winning bid
        (`auction_redeem` for a bid in another brand's points, then `auction_settle`)."""
        body = {"bidder": bidder}
        return self._bid_step(auction_id, "settlements", body, idempotency_key, wait)

    def cancel_bid(
        self,
        auction_id: int,
        bidder: str,
        *,
        idempotency_key: str | None = None,
        wait: Wait = None,
    ) -> Json:
        """`POST /v1/auctions/{id}/cancellations`: `bidder`'s winning bid, still unsettled a
        week after the end, goes back to it (`auction_cancel`; 409 `auction_grace_not_over`,
        `auction_not_winning`, `auction_already_redeemed`)."""
        body = {"bidder": bidder}
        return self._bid_step(auction_id, "cancellations", body, idempotency_key, wait)

    def reclaim_escrow(
        self,
        auction_id: int,
        bidder: str,
        brand: int,
        *,
        idempotency_key: str | None = None,
        wait: Wait = None,
    ) -> Json:
        """`POST /v1/auctions/{id}/reclaims`: the points of `brand` in `bidder`'s escrow beyond
        the bid it holds go back to it (`auction_reclaim`, result `amount`, 0 when another
        reclaim or a cancellation emptied it first; 409 `auction_nothing_to_reclaim`)."""
        body = {"bidder": bidder, "brand": brand}
        return self._bid_step(auction_id, "reclaims", body, idempotency_key, wait)

    def issue_won(
        self,
        auction_id: int,
        bidder: str,
        *,
        idempotency_key: str | None = None,
        wait: Wait = None,
    ) -> Json:
        """`POST /v1/auctions/{id}/issuances`: the badge `bidder`'s wallet refused when its
        winning bid was settled (the bid `unissued`: paid, its unit reserved) is issued again
        (`auction_issue_won`, result `badge_type`; 409 `auction_badge_not_unissued`,
        `auction_badge_refused` while the wallet still refuses it)."""
        body = {"bidder": bidder}
        return self._bid_step(auction_id, "issuances", body, idempotency_key, wait)

    def _bid_step(
        self,
        auction_id: int,
        step: str,
        body: Json,
        idempotency_key: str | None,
        wait: Wait,
    ) -> Json:
        answer: Json = self.request(
            "POST",
            f"/v1/auctions/{auction_id}/{step}",
            body=body,
            idempotency_key=idempotency_key,
            wait=wait,
        )
        return answer

    def auction(self, auction_id: int) -> Json:
        """`GET /v1/auctions/{id}`: terms, bids by value, winners once ended."""
        answer: Json = self.request("GET", f"/v1/auctions/{auction_id}")
        return answer

    def auctions(self, status: str = "open") -> Json:
        """`GET /v1/auctions?status=open|ended|all`: the newest first."""
        answer: Json = self.request("GET", "/v1/auctions", params={"status": status})
        return answer
