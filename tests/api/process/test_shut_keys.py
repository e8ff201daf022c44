"""A brand whose sealed keys do not open under the gateway's passphrase (restored from another
deployment's data, `LEDGER_KEY_PASSPHRASE` set in one shell and not in another): that brand
alone waits, says why, and holds back nothing of the other brands'.

Each test here reseals one brand's keys with another passphrase between two gateways on the
same database, as `ledger brand add` under another passphrase did before it was refused."""

from __future__ import annotations

import sqlite3
from typing import Any

from support.chain import Anvil
from support.flows import earn, signed_gift, signed_redemption
from support.gateway import Brand, Gateway, Member, settings_from
from support.progress import wait_for
from support.proxy import Proxy

from ledger_api.access.sealing import seal, unseal


def _reseal_brand(env: dict[str, str], brand_id: int, passphrase: str) -> None:
    """Seals brand `brand_id`'s signing key and reference secret again with `passphrase`: what
    `ledger brand add` under another `LEDGER_KEY_PASSPHRASE` did before it was refused."""
    current = settings_from(env)
    database = env["LEDGER_DATABASE_URL"].removeprefix("sqlite:///")
    with sqlite3.connect(database) as connection:
        (row_id, sealed_key, sealed_ref) = connection.execute(
            "SELECT s.id, s.keystore, b.ref_secret FROM signers s JOIN brands b"
            " ON b.id = s.brand_id WHERE b.ledger_id = ?",
            (brand_id,),
        ).fetchone()
        key = unseal(sealed_key, current.passphrase())
        ref = unseal(sealed_ref, current.passphrase())
        connection.execute(
            "UPDATE signers SET keystore = ? WHERE id = ?", (seal(key, passphrase, 1000), row_id)
        )
        connection.execute(
            "UPDATE brands SET ref_secret = ? WHERE ledger_id = ?",
            (seal(ref, passphrase, 1000), brand_id),
        )


def test_a_brand_whose_keys_do_not_unseal_is_held_alone_and_named_in_the_health(
    env: dict[str, str],
) -> None:
    """A new user's trial: one brand's keys sealed with another passphrase stopped the whole
    sender's start, so every brand's earns stayed queued (and the webhooks, the tier reviews
    and the referrals with them), while that brand's own earns answered 500. Now that brand
    alone waits, the health is `degraded` with its sender entry saying why, and its requests
    answer 503 `key_passphrase_mismatch`; the other brands send."""
    with Gateway(env) as first:
        fine = first.create_brand()
        sealed_elsewhere = first.create_brand()
    _reseal_brand(env, sealed_elsewhere.brand_id, "another passphrase")
    with Gateway(env) as gateway:
        health = gateway.get_health()
        assert health["status"] == "degraded" and health["start_error"] is None, health
        refused = [w for w in health["sender"] if not w["healthy"]]
        assert len(refused) == 1, health
        assert refused[0]["last_error"].startswith("key_passphrase_mismatch"), health
        assert len(health["sender"]) == 3, health  # the admin's signer, and the other brand's

        fine_api = gateway.api(fine.api_key)
        member = Member()
        accepted = fine_api.post(
            "/v1/earn/purchase",
            {"member": member.address, "amount_cents": 1_000, "order_ref": "o-fine"},
        )
        assert accepted.status_code == 202, accepted.text
        assert fine_api.wait(accepted.json()["operation_id"])["status"] == "confirmed"

        held_api = gateway.api(sealed_elsewhere.api_key)
        for attempt in range(2):  # the second from the refusal kept, not another derivation
            answer = held_api.post(
                "/v1/earn/purchase",
                {"member": member.address, "amount_cents": 1_000, "order_ref": f"o-{attempt}"},
            )
            assert answer.status_code == 503, answer.text
            assert answer.json()["error"]["code"] == "key_passphrase_mismatch", answer.text
        # nor one that binds no reference (a trial: queued for good, it held back the
        # member's debits at every other brand)
        for path, body in (
            ("/v1/earn/engagement", {"member": member.address, "kind": "review"}),
            (f"/v1/tiers/{member.address}/review", None),
        ):
            answer = held_api.post(path, body)
            assert answer.status_code == 503, (path, answer.text)
            assert answer.json()["error"]["code"] == "key_passphrase_mismatch", answer.text
        # nor EIP-712 data for a move it cannot relay (they answered 200: the member signed,
        # then the relay was refused), and each refusal says when to ask again
        for path, body in (
            ("/v1/gifts/typed-data", {"member": member.address, "to": fine.signer, "amount": 1}),
            (
                "/v1/redemptions/typed-data",
                {"member": member.address, "brand": fine.brand_id, "amount": 1, "order_ref": "r-1"},
            ),
        ):
            answer = held_api.post(path, body)
            assert answer.status_code == 503, (path, answer.text)
            assert answer.json()["error"]["code"] == "key_passphrase_mismatch", answer.text
            assert answer.headers["Retry-After"] == "60", answer.headers


def test_a_shut_brands_stored_earn_holds_back_no_debit_at_another_brand(
    env: dict[str, str], anvil: Anvil
) -> None:
    """A trial: operations a brand stored before its keys stopped opening (and the referral
    crediter's, written straight into its queue) wait until an operator restores the
    passphrase, and meanwhile held back those members' redemptions at every other brand: a
    member's debit waits for each earlier open operation of theirs. A debit now passes the
    operations of a brand whose key the sender found shut (`signers.key_refused_at`)."""
    member = Member()
    with Gateway(env) as first:
        fine = first.create_brand()
        shut = first.create_brand()
        earn(fine, member, 10_000)  # 1,000 of Fine's points
    # Shut stores an earn for the member while nothing sends it (the node away)
    proxy = Proxy(anvil.port)
    proxy.down()
    waiting = Gateway({**env, "LEDGER_RPC_URL": proxy.url})
    waiting.thread.start()
    try:
        wait_for(lambda: waiting.server.started, what="the gateway's start")
        stored = waiting.api(shut.api_key).post(
            "/v1/earn/purchase",
            {"member": member.address, "amount_cents": 500, "order_ref": "o-shut"},
            key="shut-earn-1",
        )
        assert stored.status_code == 202, stored.text
    finally:
        waiting.stop()
        proxy.close()
    _reseal_brand(env, shut.brand_id, "another passphrase")

    with Gateway(env) as gateway:
        at_fine = Brand(fine.brand_id, fine.api_key, gateway.api(fine.api_key), fine.signer)
        redemption = signed_redemption(at_fine, member, fine.brand_id, 100, "checkout-1")
        accepted = at_fine.api.post("/v1/redemptions", redemption)
        assert accepted.status_code == 202, accepted.text
        final = at_fine.api.wait(accepted.json()["operation_id"], timeout=120)
        assert final["status"] == "confirmed", final
        # Shut's earn still waits for its keys, neither sent nor lost
        shut_api = gateway.api(shut.api_key)
        held = shut_api.get(f"/v1/operations/{stored.json()['operation_id']}")
        assert held.json()["status"] == "queued", held.text
        # and a retry of it (its 202 lost) answers that 202 again, not 503 for an operation
        # that goes out once the keys open (a client that took the 503 as a refusal and sent
        # it under a new key had two)
        again = shut_api.post(
            "/v1/earn/purchase",
            {"member": member.address, "amount_cents": 500, "order_ref": "o-shut"},
            key="shut-earn-1",
        )
        assert again.status_code == 202, again.text
        assert again.json()["operation_id"] == stored.json()["operation_id"], again.text
        assert again.headers["Idempotent-Replayed"] == "true"
        # another request under that key learns it now, as at a brand whose keys open (409),
        # not once an operator restored them
        other = shut_api.post(
            "/v1/earn/purchase",
            {"member": member.address, "amount_cents": 900, "order_ref": "o-shut"},
            key="shut-earn-1",
        )
        assert other.status_code == 409, other.text
        assert other.json()["error"]["code"] == "idempotency_conflict", other.text


def test_a_move_behind_a_shut_brands_earlier_nonce_says_why_it_waits(env: dict[str, str]) -> None:
    """A trial: a member's signed move stored at a brand whose keys then stopped opening holds
    the member's nonce, so the member's next signed move at any other brand waits for it (the
    chain takes a member's nonces in order). That move answered 202 `queued` with no reason,
    and the typed data handed out the nonce after the held one without a word. Both now say
    `queued_reason` `earlier_nonce_held`, and so does the move's status while it waits; an
    earn waits for nothing and says nothing."""
    member = Member()
    with Gateway(env) as first:
        fine = first.create_brand()
        shut = first.create_brand()
        earn(fine, member, 10_000)
        earn(shut, member, 10_000)
    # Shut relays the member's gift while no sender runs (no `ledger work` beside this one)
    idle = Gateway({**env, "LEDGER_SENDER_PROCESS": "true"})
    idle.thread.start()
    try:
        wait_for(lambda: idle.server.started, what="the gateway's start")
        at_shut = Brand(shut.brand_id, shut.api_key, idle.api(shut.api_key), shut.signer)
        gift = at_shut.api.post("/v1/gifts", signed_gift(at_shut, member, fine.signer, 50))
        assert gift.status_code == 202, gift.text
        assert gift.json()["queued_reason"] == "sender_unavailable", gift.text
    finally:
        idle.stop()
    _reseal_brand(env, shut.brand_id, "another passphrase")

    with Gateway(env) as gateway:
        at_fine = Brand(fine.brand_id, fine.api_key, gateway.api(fine.api_key), fine.signer)
        asked = {"member": member.address, "brand": fine.brand_id, "amount": 100}

        def typed_data() -> dict[str, Any] | None:
            answer = at_fine.api.post("/v1/redemptions/typed-data", {**asked, "order_ref": "c-1"})
            assert answer.status_code == 200, answer.text
            found: dict[str, Any] = answer.json()
            return found if found.get("queued_reason") else None

        # once the sender has found Shut's key shut (`signers.key_refused_at`)
        prepared = wait_for(typed_data, what="the typed data's reason", idle_s=60)
        assert prepared["queued_reason"] == "earlier_nonce_held", prepared
        assert prepared["nonce"] == 1, prepared  # the gift holds nonce 0

        redemption = signed_redemption(at_fine, member, fine.brand_id, 100, "c-1")
        accepted = at_fine.api.post("/v1/redemptions", redemption, key="redeem-c-1")
        assert accepted.status_code == 202, accepted.text
        assert accepted.json()["queued_reason"] == "earlier_nonce_held", accepted.text
        assert accepted.headers["Ledger-Queued-Reason"] == "earlier_nonce_held"
        status = at_fine.api.get(f"/v1/operations/{accepted.json()['operation_id']}").json()
        assert status["status"] == "queued", status
        assert status["queued_reason"] == "earlier_nonce_held", status
        # a retry of the request (its 202 lost) says it too
        again = at_fine.api.post("/v1/redemptions", redemption, key="redeem-c-1")
        assert again.headers["Idempotent-Replayed"] == "true", again.text
        assert again.json()["queued_reason"] == "earlier_nonce_held", again.text

        # an earn takes no nonce: it waits for nothing and says nothing
        bought = at_fine.api.post(
            "/v1/earn/purchase",
            {"member": member.address, "amount_cents": 100, "order_ref": "after"},
        )
        assert bought.status_code == 202 and "queued_reason" not in bought.json(), bought.text
        assert at_fine.api.wait(bought.json()["operation_id"])["queued_reason"] is None
