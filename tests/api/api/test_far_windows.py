"""Times past the year 9999 (a review): the contracts take uint40 windows, the answers write
RFC 3339's four-digit years. A brand's auction opening in the year 10000, sent straight to
the chain, stopped the indexer for every brand (`ValueError: year 10000 is out of range` on
its webhook), and such windows through the gateway answered 500 or were accepted."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

from support.chain import Anvil, _send
from support.direct import contract, signer_account
from support.flows import confirmed
from support.gateway import Brand, Gateway, Member
from support.progress import wait_for

YEAR_10000 = 253_402_300_800  # 10000-01-01T00:00:00Z
LAST_SECOND = "9999-12-31T23:59:59Z"
CONTENT = "0x" + "ab" * 32


def _windows() -> list[dict[str, int]]:
    now = int(time.time())
    return [
        {"starts_at": 2**40 - 1, "ends_at": 1},
        {"starts_at": 2**40 - 1, "ends_at": 2**40 - 1},
        {"starts_at": now + 3_600, "ends_at": 2**40 - 1},
        {"starts_at": YEAR_10000, "ends_at": YEAR_10000 + 3_600},
    ]


def test_a_window_past_the_year_9999_is_refused_by_its_code(brand: Brand) -> None:
    """Each answered 500 (`iso_utc` in the refusal) or was accepted; now 422 with the window's
    code. The refusal gives the window as sent (seconds past the year 9999; it had shown them as
    9999-12-31T23:59:59Z, a trial) and the latest end an answer can write."""
    badge = confirmed(
        brand, "/v1/badges/types", {"kind": "collectible", "has_benefit": True, "uri": "ipfs://far"}
    )
    auction = {
        "badge_type": badge["result"]["type_id"],
        "units": 1,
        "min_tier": 3,
        "reserve": 100,
        "increment": 10,
        "extension_s": 300,
    }
    poll = {
        "content_hash": CONTENT,
        "option_count": 2,
        "eligibility": "min_tier",
        "eligibility_ref": 1,
    }
    for path, body, code in (
        ("/v1/polls", poll, "poll_invalid_window"),
        ("/v1/auctions", auction, "auction_invalid_window"),
    ):
        for window in _windows():
            answer = brand.api.post(path, {**body, **window})
            assert answer.status_code == 422, (path, window, answer.text)
            error = answer.json()["error"]
            assert error["code"] == code, (path, window, error)
            details = error["details"]
            for field in ("starts_at", "ends_at"):
                if window[field] >= YEAR_10000:  # as sent: no answer can write that year
                    assert details[field] == window[field], (field, error)
                else:
                    assert details[field].endswith("Z"), (field, error)  # ISO 8601, UTC
            assert details["latest_ends_at"] <= LAST_SECOND, error
            assert LAST_SECOND not in (details["starts_at"], details["ends_at"]), error


def test_a_brands_own_auction_in_the_year_10000_leaves_the_index_going(
    own_env: dict[str, str], own_chain: tuple[Anvil, Path]
) -> None:
    """The brand holds its key and opens the auction on chain itself: the index goes on (the
    other brand's earn is indexed), and the auction reads with the last writable second."""
    anvil, manifest = own_chain
    with Gateway(own_env) as gateway:
        brand, other = gateway.create_brand(), gateway.create_brand()
        badge = confirmed(
            brand,
            "/v1/badges/types",
            {"kind": "collectible", "has_benefit": True, "uri": "ipfs://far"},
        )
        w3, auctions = contract(anvil, manifest, "AllianceAuctions")
        signer = signer_account(gateway, brand)
        create = auctions.functions.createAuction(
            badge["result"]["type_id"], 1, 3, 100, 10, YEAR_10000, YEAR_10000 + 3_600, 300
        )
        tx = create.build_transaction({"from": signer.address, "gas": 1_000_000})
        tx.pop("gasPrice", None)
        _send(w3, signer, dict(tx))
        body = {"member": Member().address, "amount_cents": 1_000, "order_ref": str(uuid.uuid4())}
        earned = other.api.post("/v1/earn/purchase", body, params={"wait": "true"}).json()
        assert earned["status"] == "confirmed", earned
        wait_for(
            lambda: other.api.get(f"/v1/operations/{earned['operation_id']}").json()["indexed"],
            what="the other brand's earn indexed past the auction's block",
        )
        listed = brand.api.get("/v1/auctions", params={"status": "all"})
        assert listed.status_code == 200, listed.text
        (auction,) = [a for a in listed.json()["auctions"] if a["brand_id"] == brand.brand_id]
        assert auction["starts_at"] == LAST_SECOND, auction
        read = brand.api.get(f"/v1/auctions/{auction['auction_id']}")
        assert read.status_code == 200 and read.json()["ends_at"] == LAST_SECOND, read.text
        assert gateway.get_health()["status"] == "ok"
