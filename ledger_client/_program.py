"""Bulk earns (issue 15), polls and enterprise accounts (issue 16), and the dashboard's
figures (issue 13). Mutations take `idempotency_key` (a fresh UUID when omitted) and `wait`."""

from __future__ import annotations

from ledger_client._operations import _body as _fields
from ledger_client._transport import Json, Transport, Wait


class Program(Transport):
    # ------------------------------------------------------------------ bulk earns

    def earn_batch(
        self, items: list[Json], *, idempotency_key: str | None = None, wait: Wait = None
    ) -> Json:
        """`POST /v1/earn/batch`: up to 1,000 purchases (`{"type": "purchase", "key",
        "member", "amount_cents", "order_ref"}`) and engagements (`{"type": "engagement",
        "key", "member", "kind"}`); answers per item: accepted, duplicate (its `key` was seen)
        or refused with its `error` (`code`, `message` and `details`, as the single route's
        error body: e.g. `duplicate_order` names the operation holding the order in
        `details["operation_id"]`)."""
        answer: Json = self.request(
            "POST",
            "/v1/earn/batch",
            body={"items": items},
            idempotency_key=idempotency_key,
            wait=wait,
        )
        return answer

    # ------------------------------------------------------------------------ polls

    def open_poll(
        self,
        content_hash: str,
        option_count: int,
        starts_at: int,
        ends_at: int,
        *,
        eligibility: str = "min_tier",
        eligibility_ref: int = 1,
        idempotency_key: str | None = None,
        wait: Wait = None,
    ) -> Json:
        """`POST /v1/polls`: a poll of the caller's brand (times in unix seconds, UTC; the
        eligibility is a minimum tier or a badge type)."""
        body = _fields(
            content_hash=content_hash,
            option_count=option_count,
            starts_at=starts_at,
            ends_at=ends_at,
            eligibility=eligibility,
            eligibility_ref=eligibility_ref,
        )
        answer: Json = self.request(
            "POST", "/v1/polls", body=body, idempotency_key=idempotency_key, wait=wait
        )
        return answer

    def vote_typed_data(
        self, poll_id: int, voter: str, option: int, *, deadline: int | None = None
    ) -> Json:
        """`POST /v1/polls/{id}/votes/typed-data`: the EIP-712 document the member signs."""
        body = _fields(voter=voter, option=option, deadline=deadline)
        answer: Json = self.request("POST", f"/v1/polls/{poll_id}/votes/typed-data", body=body)
        return answer

    def vote(
        self,
        poll_id: int,
        voter: str,
        option: int,
        *,
        deadline: int,
        signature: str,
        idempotency_key: str | None = None,
        wait: Wait = None,
    ) -> Json:
        """`POST /v1/polls/{id}/votes`: relays the member's signed vote."""
        body = {"voter": voter, "option": option, "deadline": deadline, "signature": signature}
        answer: Json = self.request(
            "POST",
            f"/v1/polls/{poll_id}/votes",
            body=body,
            idempotency_key=idempotency_key,
            wait=wait,
        )
        return answer

    def poll(self, poll_id: int) -> Json:
        """`GET /v1/polls/{id}`: window, eligibility and tallies (final from `ends_at`)."""
        answer: Json = self.request("GET", f"/v1/polls/{poll_id}")
        return answer

    # ---------------------------------------------------------- enterprise accounts

    def binding_typed_data(
        self, enterprise: str, employee: str, *, deadline: int | None = None
    ) -> Json:
        """`POST /v1/enterprises/bindings/typed-data`: the two documents the enterprise and
        the employee each sign, with their nonces."""
        body = _fields(enterprise=enterprise, employee=employee, deadline=deadline)
        answer: Json = self.request("POST", "/v1/enterprises/bindings/typed-data", body=body)
        return answer

    def bind_employee(
        self, signed: Json, *, idempotency_key: str | None = None, wait: Wait = None
    ) -> Json:
        """`POST /v1/enterprises/bindings`: `signed` holds enterprise, employee, deadline and
        each side's nonce and signature."""
        answer: Json = self.request(
            "POST",
            "/v1/enterprises/bindings",
            body=signed,
            idempotency_key=idempotency_key,
            wait=wait,
        )
        return answer

    def unbinding_typed_data(
        self, enterprise: str, employee: str, *, deadline: int | None = None
    ) -> Json:
        """`POST /v1/enterprises/unbindings/typed-data`: the document the enterprise signs."""
        body = _fields(enterprise=enterprise, employee=employee, deadline=deadline)
        answer: Json = self.request("POST", "/v1/enterprises/unbindings/typed-data", body=body)
        return answer

    def unbind_employee(
        self, signed: Json, *, idempotency_key: str | None = None, wait: Wait = None
    ) -> Json:
        """`POST /v1/enterprises/unbindings`: enterprise, employee, nonce, deadline, signature."""
        answer: Json = self.request(
            "POST",
            "/v1/enterprises/unbindings",
            body=signed,
            idempotency_key=idempotency_key,
            wait=wait,
        )
        return answer

    def leave_typed_data(self, employee: str, *, deadline: int | None = None) -> Json:
        """`POST /v1/enterprises/leaves/typed-data`: the document an employee signs to leave."""
        body = _fields(employee=employee, deadline=deadline)
        answer: Json = self.request("POST", "/v1/enterprises/leaves/typed-data", body=body)
        return answer

    def leave_enterprise(
        self, signed: Json, *, idempotency_key: str | None = None, wait: Wait = None
    ) -> Json:
        """`POST /v1/enterprises/leaves`: employee, nonce, deadline, signature."""
        answer: Json = self.request(
            "POST",
            "/v1/enterprises/leaves",
            body=signed,
            idempotency_key=idempotency_key,
            wait=wait,
        )
        return answer

    def enterprise(self, address: str) -> Json:
        """`GET /v1/enterprises/{address}`: its employees and tier (or an employee's
        enterprise)."""
        answer: Json = self.request("GET", f"/v1/enterprises/{address}")
        return answer

    # -------------------------------------------------------------------- dashboard

    def stats_overview(self) -> Json:
        """`GET /v1/stats/overview`: tiers, tier movements, points per brand, badges."""
        answer: Json = self.request("GET", "/v1/stats/overview")
        return answer

    def stats_series(self, *, days: int = 30) -> Json:
        """`GET /v1/stats/series`: points per month (usage and expiry rates), earns per day."""
        answer: Json = self.request("GET", "/v1/stats/series", params={"days": days})
        return answer

    def stats_flows(self) -> Json:
        """`GET /v1/stats/flows`: points spent where, positions, deposits, settlements."""
        answer: Json = self.request("GET", "/v1/stats/flows")
        return answer

    def stats_gateway(self) -> Json:
        """`GET /v1/stats/gateway`: queue depth, sender and index lag, signers' balances."""
        answer: Json = self.request("GET", "/v1/stats/gateway")
        return answer
