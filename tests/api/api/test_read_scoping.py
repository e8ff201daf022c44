"""What the gateway's answers reveal to whom (DOMAIN.md, "Trust, privacy and security":
authenticate every call, scope every key to one brand). Found by a review of 2026-12-06; each
test failed before its fix."""

from __future__ import annotations

import json
from pathlib import Path

from support.auctions import mine_past
from support.chain import Anvil
from support.flows import earn, signed_gift
from support.gateway import Brand, Gateway, Member
from support.progress import wait_for

PURCHASE = "/v1/earn/purchase"
CONTENT = "0x" + "cd" * 32


# ------------------------------------------------------------------ authenticate every call


def test_an_anonymous_call_is_refused_401_before_its_member_address_is_checked(
    gateway: Gateway,
) -> None:
    """Every route answers an anonymous caller 401 before it looks at the request's path ids
    (`/v1/operations/not-an-id` did); the routes taking a member's address validated it first
    and answered a caller with no key 422 `invalid_address`: an unauthenticated call was
    served past the key check."""
    anonymous = gateway.api(None)
    assert anonymous.get("/v1/operations/not-an-id").status_code == 401
    assert anonymous.get("/v1/brands/not-an-id/liability").status_code == 401
    assert anonymous.get("/metrics").status_code == 401
    answers = {
        path: anonymous.get(path).status_code
        for path in (
            "/v1/members/not-an-address",
            "/v1/members/not-an-address/history",
            "/v1/members/not-an-address/badges",
            "/v1/enterprises/not-an-address",
        )
    }
    answers["POST /v1/tiers/not-an-address/review"] = anonymous.post(
        "/v1/tiers/not-an-address/review", {}
    ).status_code
    assert set(answers.values()) == {401}, answers


# ------------------------------------------------------------- stats scoped to one brand


def test_a_brands_gateway_stats_do_not_show_another_brands_stalled_queue(
    gateway: Gateway, anvil: Anvil, brand: Brand, other_brand: Brand
) -> None:
    """`/v1/stats/gateway` "gives a brand its own queue and signer only" (api/stats.py; README:
    "(a brand: its own)"): its `queue_depth` and `submitted` were the brand's, but `sender_lag_s`
    the age of the oldest queued operation of the whole alliance: a brand with nothing queued
    read how long another brand's queue had been stuck. It is the brand's own now."""
    member = Member()
    earn(brand, member, 1_000)  # 100 of `brand`'s points
    anvil.rpc("anvil_setBalance", brand.signer, "0x0")  # `brand`'s signer cannot pay: stalled
    uids = []
    try:
        stuck = brand.api.post(
            PURCHASE, {"member": member.address, "amount_cents": 500, "order_ref": "stall-1"}
        )
        assert stuck.status_code == 202, stuck.text
        uids.append(stuck.json()["operation_id"])
        # the member's gift waits, queued, for its earlier operation (stuck) to be final
        gift = brand.api.post("/v1/gifts", signed_gift(brand, member, Member().address, 10))
        assert gift.status_code == 202, gift.text
        uids.append(gift.json()["operation_id"])
        wait_for(
            lambda: (
                (s := gateway.admin.get("/v1/stats/gateway").json())["queue_depth"] >= 1
                and s["sender_lag_s"] >= 2
                and s
            ),
            what="the stalled brand's queue to age",
            idle_s=60,
        )
        seen = other_brand.api.get("/v1/stats/gateway").json()
        assert seen["scope"] == "brand" and seen["queue_depth"] == 0, seen
        assert seen["submitted"] == 0, seen
        assert seen["sender_lag_s"] == 0, (
            f"brand {other_brand.brand_id}, nothing queued, reads brand {brand.brand_id}'s "
            f"queue age: sender_lag_s={seen['sender_lag_s']}"
        )
    finally:
        anvil.rpc("anvil_setBalance", brand.signer, hex(10**20))
        for uid in uids:
            brand.api.wait(uid, timeout=120)


# -------------------------------------------------- error details naming another brand's work


def test_a_poll_vote_refusal_does_not_hand_a_brand_another_brands_operation_id(
    own_env: dict[str, str], own_chain: tuple[Anvil, Path]
) -> None:
    """A member's vote relayed by brand A and still in flight: brand B asking for the same
    member's vote document gets 409 `poll_already_voted` whose `details.operation_id` is A's
    operation. B may not read that operation (`GET /v1/operations/{id}`: "its own brand's
    operations"; 404), yet the refusal handed B its id, and with it which brand the member votes
    through and when. The refusal says the member voted, without another brand's id."""
    anvil, _ = own_chain  # the poll opens a minute ahead: the clock moves, on its own chain
    with Gateway(own_env) as gateway:
        brand, other_brand = gateway.create_brand(), gateway.create_brand()
        w3 = anvil.web3()
        type_id = brand.api.post(
            "/v1/badges/types", {"kind": "achievement", "uri": "ipfs://r"}, params={"wait": "true"}
        ).json()["result"]["type_id"]
        voter = Member()
        issued = brand.api.post(
            "/v1/badges/issue",
            {"type_id": type_id, "member": voter.address},
            params={"wait": "true"},
        )
        assert issued.json()["status"] == "confirmed", issued.text
        mine_past(w3, anvil, w3.eth.get_block("latest")["timestamp"])  # the badge before the poll
        start = w3.eth.get_block("latest")["timestamp"] + 60
        opened = brand.api.post(
            "/v1/polls",
            {
                "content_hash": CONTENT,
                "option_count": 2,
                "starts_at": start,
                "ends_at": start + 3_600,
                "eligibility": "badge",
                "eligibility_ref": type_id,
            },
            params={"wait": "true"},
        ).json()
        assert opened["status"] == "confirmed", opened
        poll_id = opened["result"]["poll_id"]
        wait_for(
            lambda: brand.api.get(f"/v1/polls/{poll_id}").status_code == 200 or None,
            what="the poll indexed",
        )
        mine_past(w3, anvil, start)  # the poll is open: a vote is not refused on chain
        prepared = brand.api.post(
            f"/v1/polls/{poll_id}/votes/typed-data", {"voter": voter.address, "option": 1}
        ).json()
        vote = {
            "voter": voter.address,
            "option": 1,
            "deadline": prepared["deadline"],
            "signature": voter.sign(prepared["typed_data"]),
        }
        anvil.rpc("anvil_setBalance", brand.signer, "0x0")  # A's vote stays in flight
        try:
            relayed = brand.api.post(f"/v1/polls/{poll_id}/votes", vote)
            assert relayed.status_code == 202, relayed.text
            theirs = relayed.json()["operation_id"]
            asked = other_brand.api.post(
                f"/v1/polls/{poll_id}/votes/typed-data", {"voter": voter.address, "option": 0}
            )
            assert asked.status_code == 409, asked.text
            error = asked.json()["error"]
            assert error["code"] == "poll_already_voted", error
            assert other_brand.api.get(f"/v1/operations/{theirs}").status_code == 404
            handed = f"brand {other_brand.brand_id} is handed brand {brand.brand_id}'s operation"
            assert theirs not in json.dumps(error), f"{handed}: {error}"
        finally:
            anvil.rpc("anvil_setBalance", brand.signer, hex(10**20))
