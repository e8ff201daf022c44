"""A tier poll's vote is judged on the tier the calendar leaves the voter (README "Reviews follow
the calendar"), before the 202: AlliancePolls applies the voter's due reviews before it reads the
tier (since 2026-12-06), and the gateway's pre-check read only the `canVote` view, which does
not. A member the calendar had dropped, not yet reviewed, had its vote accepted (202), then
refused on chain (`poll_not_eligible`) once sent: the brand learnt it only from the operation.
"""

from __future__ import annotations

from pathlib import Path

from support.auctions import mine_past
from support.chain import Anvil
from support.flows import earn, signed_vote
from support.gateway import Gateway, Member

from ledger_api.domain import month_of, month_start

CONTENT = "0x" + "cd" * 32
DAY = 86_400


def test_a_vote_of_a_member_the_calendar_dropped_is_refused_before_it_is_queued(
    own_env: dict[str, str], own_chain: tuple[Anvil, Path]
) -> None:
    anvil, _ = own_chain  # the chain's clock moves three quarters: a chain of its own
    w3 = anvil.web3()
    # the gateway's own quarterly review job would apply the downgrade: off, as between its runs
    with Gateway({**own_env, "LEDGER_TIER_REVIEWS": "false"}) as gateway:
        silver = {"spend_cents": 5_000, "orders": 1, "engagements": 0}
        changed = gateway.admin.put("/v1/admin/tiers/1", silver, params={"wait": "true"})
        assert changed.json()["status"] == "confirmed", changed.text
        brand = gateway.create_brand()
        dropped, kept = Member(), Member()
        earn(brand, dropped, 5_000)  # Silver this quarter, then nothing more
        assert brand.api.get(f"/v1/members/{dropped.address}").json()["tier"]["tier"] == 1

        # three quarter starts later the calendar has dropped it (kept, then grace, then one
        # step down), though the ledger still shows Silver: nobody applied its reviews
        quarter = month_of(w3.eth.get_block("latest")["timestamp"]) // 3
        mine_past(w3, anvil, month_start((quarter + 3) * 3) + 9 * DAY)
        earn(brand, kept, 5_000)  # Silver in this quarter
        mine_past(w3, anvil, w3.eth.get_block("latest")["timestamp"])  # before the opening second
        start = w3.eth.get_block("latest")["timestamp"] + 120
        opened = brand.api.post(
            "/v1/polls",
            {
                "content_hash": CONTENT,
                "option_count": 2,
                "starts_at": start,
                "ends_at": start + DAY,
                "eligibility": "min_tier",
                "eligibility_ref": 1,
            },
            params={"wait": "true"},
        )
        assert opened.json()["status"] == "confirmed", opened.text
        poll_id = opened.json()["result"]["poll_id"]
        mine_past(w3, anvil, start)
        assert brand.api.get(f"/v1/members/{dropped.address}").json()["tier"]["tier"] == 1

        refused = brand.api.post(
            f"/v1/polls/{poll_id}/votes", signed_vote(brand, poll_id, dropped, 0)
        )
        assert refused.status_code == 422, refused.text
        assert refused.json()["error"]["code"] == "poll_not_eligible", refused.text
        # the refusal queued nothing, and a member Silver this quarter votes
        voted = brand.api.post(
            f"/v1/polls/{poll_id}/votes",
            signed_vote(brand, poll_id, kept, 1),
            params={"wait": "true"},
        )
        assert voted.json()["status"] == "confirmed", voted.text
        tallies = brand.api.get(f"/v1/polls/{poll_id}").json()
        assert tallies["votes"] == 1, tallies
