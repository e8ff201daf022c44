"""The webhook thread of `ledger work`: reminders, fan-out, and delivery.

Each turn it computes the reminders due (every `reminder_poll_s`), creates the deliveries of
new outbox events, claims due deliveries (a lease per delivery, see `store`) and hands each
to a thread pool. An endpoint has at most `webhook_concurrency_per_endpoint` deliveries in
flight in this process, an owner's endpoints (a brand's, or the admin's) at most
`webhook_concurrency_per_owner` in all, and each request ends by its deadline
(`webhook_timeout_s` for the whole request, `transport`), so a slow endpoint holds a few
threads of the pool for a while, and a brand's slow endpoints never all of them: the others'
deliveries go on. Of a receiver's answer the deliverer reads its status and at
most `ANSWER_PREFIX_BYTES` of its body, never decompressed (a 300 MB error body grew the
process by 900 MB before; a review of 2026-12-06).

Requests follow the Standard Webhooks specification through the `standardwebhooks`
package: `webhook-id` (the event id: the receiver's de-duplication key, the same on every
retry), `webhook-timestamp`, `webhook-signature` (`v1,` + HMAC-SHA256 over
`id.timestamp.body` with the endpoint's secret).
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from standardwebhooks.webhooks import Webhook

from ledger_api.background.indexer.cursor import index_time
from ledger_api.db import Database
from ledger_api.domain.events import brands_of
from ledger_api.errors import LedgerError
from ledger_api.process.metrics import observe_delivery_attempt, start_delivery_attempts
from ledger_api.process.threads import Backoff, name_this_thread
from ledger_api.settings import Settings

from . import secrets as endpoint_secrets
from . import store
from .reminders import compute_reminders
from .targets import check_url

if TYPE_CHECKING:
    import httpcore

log = logging.getLogger(__name__)

#: how much of a receiver's answer body is read (a failed attempt's `last_error` keeps 500
#: characters of it)
ANSWER_PREFIX_BYTES = 2_048


def attempt_text(text: str) -> str:
    """`text` as a failed attempt's `last_error`: at most 500 characters, no NUL (which
    PostgreSQL's text refuses: the attempt's write failed, and the delivery stayed pending
    and was sent again at each lease's end, for good)."""
    return text.replace("\x00", "")[:500]


def webhook_body(claimed: store.Claimed) -> str:
    """The JSON body a receiver gets (compact; signed as these exact bytes)."""
    when = claimed.occurred_at.astimezone(UTC).isoformat().replace("+00:00", "Z")
    return json.dumps(
        {
            "id": claimed.event_id,
            "type": claimed.type,
            "timestamp": when,
            "brands": brands_of(claimed.brands),
            "data": claimed.payload,
        },
        separators=(",", ":"),
        sort_keys=True,
    )


class Deliverer(threading.Thread):
    """Reminders, fan-out and delivery; one per background process."""

    def __init__(self, *, settings: Settings, db: Database) -> None:
        super().__init__(name="webhooks", daemon=True)
        self.settings = settings
        self.db = db
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._halt = threading.Event()
        self._wake = threading.Event()
        self._lock = threading.Lock()
        self._inflight: dict[str, int] = {}
        self._inflight_owners: dict[int | None, int] = {}  # an endpoint's brand (None: admin)
        self._sending: set[str] = set()
        self._pool = ThreadPoolExecutor(settings.webhook_workers, thread_name_prefix="webhook")
        self._http: httpcore.ConnectionPool | None = None  # on the first delivery (`_client`)
        self._reminded_at = 0.0
        start_delivery_attempts((store.DELIVERED, store.PENDING, store.DEAD))
        self.healthy = False
        self.last_error: str | None = None

    def stop(self) -> None:
        """Stops claiming, lets the requests in flight finish (bounded by their timeout, at
        most 5 s: a delivery cut short is retried after its lease), then closes."""
        self._halt.set()
        self._wake.set()
        self.join(timeout=5)
        self._pool.shutdown(wait=False, cancel_futures=True)
        deadline = time.monotonic() + min(self.settings.webhook_timeout_s + 1, 5.0)
        while time.monotonic() < deadline:
            with self._lock:
                if not any(self._inflight.values()):
                    break
            time.sleep(0.02)
        with self._lock:
            if self._http is not None:
                self._http.close()

    def _client(self) -> httpcore.ConnectionPool:
        """The connection pool, made on the first delivery: connections only to addresses
        the guard passed, each wait bounded by the delivery's deadline (`transport`). No
        redirect is followed (httpcore follows none)."""
        import httpcore  # here: a gateway with no webhook endpoint never loads it (3.5 MB)

        from .transport import GuardedBackend

        with self._lock:
            if self._http is None:
                self._http = httpcore.ConnectionPool(
                    max_connections=self.settings.webhook_workers,
                    network_backend=GuardedBackend(
                        allow_private=self.settings.webhook_allow_private,
                        allow_loopback=self.settings.webhook_loopback_allowed,
                    ),
                )
            return self._http

    def wake(self) -> None:
        self._wake.set()

    def run(self) -> None:
        name_this_thread("webhooks")
        backoff = Backoff(self.settings.backoff_max_s)
        while not self._halt.is_set():
            try:
                busy = self.step()
                self.healthy, self.last_error = True, None
                backoff.reset()
                if not busy:
                    self._wake.wait(self._idle_wait_s())
                    self._wake.clear()
            except Exception as exc:
                log.exception("webhooks: unexpected error")
                self.healthy, self.last_error = False, f"{exc.__class__.__name__}: {exc}"
                self._halt.wait(backoff.next())

    def step(self) -> bool:
        """One turn; returns whether there may be more to do at once."""
        if time.monotonic() - self._reminded_at >= self.settings.reminder_poll_s:
            self.remind()
        fanned = 0
        with self.db.read() as session:
            backlog = store.undispatched(session)
        if backlog:  # event writers fan out what they write: a write turn only for the rest
            with self.db.write() as session:
                fanned = store.fan_out(session, datetime.now(UTC))
        claimed = self.claim_due()
        return fanned == store.FANOUT_BATCH or claimed > 0

    def _idle_wait_s(self) -> float:
        """How long to sleep with nothing due: until the next pending attempt, between
        `webhook_poll_s` and `webhook_idle_poll_s` (new events wake the thread sooner), and no
        later than the next reminder pass (`reminder_poll_s`: with a shorter one than the idle
        poll, reminders were computed only as often as the thread happened to wake)."""
        fast = self.settings.webhook_poll_s
        remind_in = self.settings.reminder_poll_s - (time.monotonic() - self._reminded_at)
        slow = max(fast, min(self.settings.webhook_idle_poll_s, remind_in))
        with self.db.read() as session:
            next_attempt = store.next_attempt_at(session)
        if next_attempt is None:
            return slow
        return min(slow, max(fast, (next_attempt - datetime.now(UTC)).total_seconds()))

    def remind(self) -> int:
        """Writes the reminders due at the index's time (one transaction with their marks)."""
        with self.db.write() as session:
            written = compute_reminders(
                session, index_time(session), self.settings.reminder_offsets_days
            )
        self._reminded_at = time.monotonic()
        return written

    # ---------------------------------------------------------------- delivery

    def _free_slots(self, endpoint_id: str, owner: int | None) -> int:
        """What one more request to the endpoint may take: its own limit and its owner's."""
        settings = self.settings
        return min(
            settings.webhook_concurrency_per_endpoint - self._inflight.get(endpoint_id, 0),
            settings.webhook_concurrency_per_owner - self._inflight_owners.get(owner, 0),
        )

    def claim_due(self) -> int:
        now = datetime.now(UTC)
        capacity = self.settings.webhook_workers - sum(self._inflight.values())
        if capacity <= 0:
            return 0
        # a request ends by its deadline (`webhook_timeout_s`); the lease outlasts it well
        lease_s = max(self.settings.webhook_lease_s, 4 * self.settings.webhook_timeout_s)
        started = 0
        settings = self.settings
        with self._lock:
            busy = [
                e
                for e, n in self._inflight.items()
                if n >= settings.webhook_concurrency_per_endpoint
            ]
            busy_owners = [
                o
                for o, n in self._inflight_owners.items()
                if n >= settings.webhook_concurrency_per_owner
            ]
        with self.db.read() as session:
            candidates = store.due(session, now, capacity * 4, busy, busy_owners)
        for delivery_id, endpoint_id, owner in candidates:
            with self._lock:
                if started >= capacity or self._free_slots(endpoint_id, owner) <= 0:
                    continue
                if delivery_id in self._sending:
                    continue  # ours, still in flight past its lease: never sent twice at once
            with self.db.write() as session:  # committed: the lease is ours before the POST
                claimed = store.claim(session, delivery_id, self.owner, now, lease_s)
            if claimed is None:
                continue
            with self._lock:
                self._inflight[endpoint_id] = self._inflight.get(endpoint_id, 0) + 1
                self._inflight_owners[owner] = self._inflight_owners.get(owner, 0) + 1
                self._sending.add(delivery_id)
            started += 1
            self._pool.submit(self._deliver, claimed, owner)
        return started

    def _deliver(self, claimed: store.Claimed, owner: int | None) -> None:
        try:
            try:
                attempt = self.send(claimed)
            except Exception as exc:  # a failed attempt all the same: the schedule moves on
                # (it stayed pending with no attempt and was claimed again at each lease's
                # end, a traceback each time, for good: a trial's URL with a NUL in it)
                log.exception("webhooks: delivery %s could not be sent", claimed.delivery_id)
                attempt = store.Attempt(
                    None, attempt_text(f"not sent: {exc.__class__.__name__}: {exc}")
                )
            with self.db.write() as session:
                outcome = store.record(
                    session,
                    claimed,
                    self.owner,
                    attempt,
                    datetime.now(UTC),
                    schedule=self.settings.webhook_retry_schedule_s,
                    jitter=self.settings.webhook_retry_jitter,
                    disable_after_s=self.settings.webhook_disable_after_s,
                )
            if outcome is not None:
                observe_delivery_attempt(outcome)
        except Exception:
            log.exception("webhooks: delivery %s", claimed.delivery_id)
        finally:
            with self._lock:
                self._inflight[claimed.endpoint_id] -= 1
                self._inflight_owners[owner] -= 1
                self._sending.discard(claimed.delivery_id)
            self._wake.set()

    def send(self, claimed: store.Claimed) -> store.Attempt:
        """One signed POST; the outcome (never raises for the receiver's faults)."""
        settings = self.settings
        try:  # the URL's form; its host's addresses are checked as it is connected to
            check_url(
                claimed.url,
                allow_private=settings.webhook_allow_private,
                allow_loopback=settings.webhook_loopback_allowed,
                resolve=False,
            )
        except LedgerError as refused:
            return store.Attempt(None, attempt_text(f"{refused.error_code}: {refused.message}"))
        try:
            secret = endpoint_secrets.decrypt(
                claimed.secret_encrypted, settings.passphrase(), settings.keystore_kdf_iterations
            )
        except LedgerError as sealed:  # recorded as a failed attempt: the retry schedule's
            return store.Attempt(None, f"{sealed.error_code}: {sealed.message}")
        body = webhook_body(claimed).encode()
        now = datetime.now(UTC)
        headers = [
            ("content-type", "application/json"),
            ("user-agent", "alliance-ledger-webhooks/1"),
            ("accept-encoding", "identity"),  # an answer is read in part and never decompressed
            ("webhook-id", claimed.event_id),
            ("webhook-timestamp", str(int(now.timestamp()))),
            ("webhook-signature", Webhook(secret).sign(claimed.event_id, now, body.decode())),
        ]
        import httpcore  # imported by `_client`, as httpx
        import httpx  # the URL as httpx parses it (as the guard did): IDNA, IPv6, its path

        from .transport import deadline

        url = httpx.URL(claimed.url)
        target = httpcore.URL(
            scheme=url.raw_scheme, host=url.raw_host, port=url.port, target=url.raw_path
        )
        wait = settings.webhook_timeout_s
        timeouts = {"connect": wait, "read": wait, "write": wait, "pool": wait}
        try:
            with (
                deadline(wait),
                self._client().stream(
                    "POST", target, headers=headers, content=body, extensions={"timeout": timeouts}
                ) as response,
            ):
                status, answer = response.status, self._answer_prefix(response)
        except LedgerError as refused:  # no address of the host name passes the guard now
            return store.Attempt(None, attempt_text(f"{refused.error_code}: {refused.message}"))
        except (  # the receiver's faults: a timeout, a refused or broken connection, no HTTP
            httpcore.TimeoutException,
            httpcore.NetworkError,
            httpcore.ProtocolError,
            httpcore.UnsupportedProtocol,
        ) as exc:
            return store.Attempt(None, attempt_text(f"{exc.__class__.__name__}: {exc}"))
        if 200 <= status < 300:
            return store.Attempt(status, None)
        # the receiver's answer, else its status's reason phrase: an empty body was stored as ""
        reason = response.extensions.get("reason_phrase", b"")
        problem = answer.decode("utf-8", "replace") or reason.decode("latin-1")
        return store.Attempt(status, attempt_text(problem))

    @staticmethod
    def _answer_prefix(response: httpcore.Response) -> bytes:
        """At most `ANSWER_PREFIX_BYTES` of the answer's body: the connection is closed, not
        read to its end, when the body is longer."""
        prefix = b""
        for chunk in response.iter_stream():
            prefix += chunk
            if len(prefix) >= ANSWER_PREFIX_BYTES:
                break
        return prefix[:ANSWER_PREFIX_BYTES]

    def status(self) -> dict[str, Any]:
        with self._lock:
            inflight = sum(self._inflight.values())
        return {"healthy": self.healthy, "last_error": self.last_error, "in_flight": inflight}
