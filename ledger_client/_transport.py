"""HTTP under every method: authentication, Idempotency-Key, retries, errors, waiting."""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping
from typing import Any

import httpx
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential,
)

from ledger_client._errors import LedgerApiError, OperationTimeout

Json = dict[str, Any]
#: waits: `True` waits up to the gateway's default (10 s), a number that many seconds
Wait = bool | float | None
_FINAL = ("confirmed", "failed")


#: the 503 refusals a later attempt may pass (the gateway starting, the node or the index
#: away) when their Retry-After is at most `TRANSIENT_MAX_S`; a longer one (no deployment
#: yet, a disk that took no sync) and `key_passphrase_mismatch` wait for an operator and
#: are raised at once
TRANSIENT_503 = frozenset(
    {"unavailable", "chain_unavailable", "index_not_ready", "database_unavailable"}
)
TRANSIENT_MAX_S = 10.0


class _Retry(Exception):
    """A 429 answer, or a transient 503: retried after its Retry-After."""

    def __init__(self, after: float) -> None:
        super().__init__(after)
        self.after = after


def _retry_after(response: httpx.Response) -> float | None:
    """The seconds to wait before sending `response`'s request again, or None when it is the
    answer: a 429, or a 503 of `TRANSIENT_503` that passes within `TRANSIENT_MAX_S`, waits
    its `Retry-After` (seconds; 1 when absent or an HTTP date)."""
    if response.status_code not in (429, 503):
        return None
    try:
        after = max(0.0, float(response.headers.get("Retry-After", "1")))
    except ValueError:
        after = 1.0
    if response.status_code == 503:
        try:
            code = response.json()["error"]["code"]
        except (ValueError, KeyError, TypeError):
            return None
        if code not in TRANSIENT_503 or after > TRANSIENT_MAX_S:
            return None
    return after


class Transport:
    """One httpx client with the API key; every mutation gets an Idempotency-Key.

    `retries` attempts in all when the gateway cannot be reached or the answer is lost
    (`httpx.TransportError`), on 429 and on a transient 503 (`TRANSIENT_503`), each after
    its `Retry-After`: a mutation is sent again with the *same* Idempotency-Key, so the
    gateway applies it once and a retry answers the first answer. The last refusal raises
    `LedgerApiError` like any other.
    """

    def __init__(
        self,
        base_url: str,
        api_key: str | None = None,
        *,
        timeout: float = 30.0,
        retries: int = 5,
        backoff_s: float = 0.2,
        http: httpx.Client | None = None,
    ) -> None:
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self.http = http or httpx.Client(base_url=base_url, timeout=timeout)
        self.http.headers.update(headers)
        self.retries = max(1, retries)
        self.backoff_s = backoff_s
        self.last_response: httpx.Response | None = None

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> Transport:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @staticmethod
    def new_idempotency_key() -> str:
        return str(uuid.uuid4())

    def _wait_before(self, state: RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome else None
        if isinstance(error, _Retry):
            return error.after
        backoff = wait_exponential(multiplier=self.backoff_s, max=5)
        return float(backoff(state))

    def request(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        params: Mapping[str, Any] | None = None,
        idempotency_key: str | None = None,
        wait: Wait = None,
    ) -> Any:
        """The decoded answer (None for 204); `LedgerApiError` for a 4xx/5xx answer."""
        headers: dict[str, str] = {}
        if method in ("POST", "PUT", "PATCH", "DELETE"):
            headers["Idempotency-Key"] = idempotency_key or self.new_idempotency_key()
        if wait is True:
            headers["Prefer"] = "wait=10"
        elif wait:
            headers["Prefer"] = f"wait={float(wait):g}"
        query = {k: v for k, v in (params or {}).items() if v is not None}
        retrying = Retrying(
            retry=retry_if_exception_type((httpx.TransportError, _Retry)),
            stop=stop_after_attempt(self.retries),
            wait=self._wait_before,
            reraise=True,
        )
        response: httpx.Response | None = None
        try:
            for attempt in retrying:
                with attempt:
                    response = self.http.request(
                        method, path, json=body, params=query, headers=headers
                    )
                    after = _retry_after(response)
                    if after is not None:
                        raise _Retry(after)
        except _Retry:
            pass  # out of attempts: the last refusal is the answer (it raised `_Retry` itself)
        assert response is not None  # an attempt ran, or its transport error was raised
        return self._decode(response)

    def _decode(self, response: httpx.Response) -> Any:
        self.last_response = response
        if response.status_code >= 400:
            try:
                error = response.json()["error"]
            except (ValueError, KeyError, TypeError):
                error = {"code": "http_error", "message": response.text[:500]}
            raise LedgerApiError(
                response.status_code,
                str(error.get("code")),
                str(error.get("message")),
                dict(error.get("details") or {}),
            )
        if response.status_code == 204 or not response.content:
            return None
        return response.json()

    def wait(self, operation_id: str, timeout: float = 60.0, *, indexed: bool = True) -> Json:
        """Follows an operation until it is confirmed or failed (and, with `indexed`, until
        reads include it); `OperationTimeout` after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            status: Json = self.request(
                "GET", f"/v1/operations/{operation_id}", wait=max(0.1, min(left, 10.0))
            )
            if status["status"] in _FINAL and (status.get("indexed") or not indexed):
                return status
            if time.monotonic() >= deadline:
                raise OperationTimeout(operation_id, status)
            time.sleep(0.05)
