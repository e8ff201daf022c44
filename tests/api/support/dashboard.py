"""The dashboard's test support: a program seeded straight into the index tables, a gateway
that only serves it (no sender, no indexer: nothing overwrites the seed), and headless
Chromium (Debian's `chromium` + `chromium-driver`, installed by tools/setup.sh) driven by
Selenium.

`seed_program` writes what the indexer would have written for `members` members of `brands`
brands over the last 14 months (lots, history, tiers, positions, tier and settlement events,
badges) and returns the figures the page must show, computed here from the seed itself.
"""

from __future__ import annotations

import random
import secrets
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Self

from eth_utils import to_checksum_address
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from sqlalchemy import create_engine, insert
from sqlalchemy.orm import Session

from ledger_api.access.apikeys import create_key
from ledger_api.db.models import (
    Brand,
    IdxBadgeBalance,
    IdxBadgeType,
    IdxBrand,
    IdxHistory,
    IdxLot,
    IdxMember,
    IdxPosition,
    IndexCursor,
    table_of,
)
from ledger_api.db.value_models import IdxBrandValue
from ledger_api.db.webhook_models import OutboxEvent
from ledger_api.domain import TIER_NAMES, lot_expiry, month_of, month_start
from ledger_api.domain.ids import BrandRowId
from support.chain import free_port
from support.gateway import Gateway, gateway_env

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--window-size=1400,2200",
)
VALUE_MICRO_USD = 10_000  # 100 points = 1 USD
TIER_WEIGHTS = (55, 30, 12, 3)  # no tier, Silver, Gold, Diamond


@dataclass
class Seeded:
    """What the page must show for the seed (computed from the seed, not from the gateway)."""

    members: int
    tiers: dict[str, int] = field(default_factory=dict)
    outstanding: int = 0  # points, every brand
    outstanding_value_micro_usd: int = 0
    outstanding_by_brand: dict[int, int] = field(default_factory=dict)


def _address(rng: random.Random) -> str:
    return to_checksum_address("0x" + rng.getrandbits(160).to_bytes(20, "big").hex())


def seed_program(database_url: str, *, members: int, brands: int, seed: int = 13) -> Seeded:
    """Writes the index of a program into a migrated, empty database."""
    rng = random.Random(seed)
    now = int(time.time())
    this_month = month_of(now)
    lots: list[dict[str, Any]] = []
    history: list[dict[str, Any]] = []
    tiers: list[dict[str, Any]] = []
    issued, redeemed = Counter[int](), Counter[int]()
    owed: Counter[tuple[int, int]] = Counter()
    expired: Counter[int] = Counter()
    block = 1
    for _ in range(members):
        member = _address(rng)
        tier = rng.choices(range(4), weights=TIER_WEIGHTS)[0]
        tiers.append(
            {
                "member": member,
                "tier": tier,
                "quarter": this_month // 3,
                "spend_cents": rng.randrange(0, 500_000),
                "orders": rng.randrange(0, 20),
                "engagements": rng.randrange(0, 10),
                "grace_until_month": this_month + 3 if tier and rng.random() < 0.1 else 0,
                "badge_tier": tier or None,
            }
        )
        for month in sorted(rng.sample(range(this_month - 13, this_month + 1), rng.randint(1, 3))):
            brand = rng.randint(1, brands)
            earned = rng.randrange(100, 5_000)
            spent = rng.randrange(0, earned) if rng.random() < 0.5 else 0
            at = rng.randint(1, brands)
            earned_at = max(month_start(month), now - 86_400 * 400) + rng.randrange(0, 86_400 * 27)
            earned_at = min(earned_at, now - 60)
            block += 1
            history.append(_line(member, brand, "earned", earned, earned_at, block))
            if spent:
                block += 1
                line = _line(member, brand, "redeemed", spent, min(earned_at + 3_600, now), block)
                history.append({**line, "at_brand": at, "value_micro_usd": spent * VALUE_MICRO_USD})
                if at != brand:
                    owed[(brand, at)] += spent * VALUE_MICRO_USD
            issued[brand] += earned
            redeemed[brand] += spent
            expires_at = lot_expiry(month)
            left = earned - spent
            if expires_at <= now:
                expired[brand] += left
            lots.append(
                {
                    "member": member,
                    "brand": brand,
                    "month": month,
                    "amount": left,
                    "expires_at": expires_at,
                }
            )
    by_brand = {b: issued[b] - redeemed[b] - expired[b] for b in range(1, brands + 1)}
    outstanding = sum(by_brand.values())
    with Session(create_engine(database_url)) as session, session.begin():
        _insert(session, IdxLot, lots)
        _insert(session, IdxHistory, history)
        _insert(session, IdxMember, tiers)
        _insert(
            session,
            IdxBrand,
            [
                {
                    "brand": b,
                    "value_micro_usd": VALUE_MICRO_USD,
                    "suspended": False,
                    "issued": issued[b],
                    "redeemed": redeemed[b],
                }
                for b in range(1, brands + 1)
            ],
        )
        _insert(
            session,
            IdxBrandValue,  # as the projector records BrandOnboarded (issue 10, item 7)
            [
                {"brand": b, "from_month": 0, "value_micro_usd": VALUE_MICRO_USD}
                for b in range(1, brands + 1)
            ],
        )
        _insert(session, IdxPosition, _positions(owed))
        _insert(session, OutboxEvent, _events(rng, tiers, owed, now, brands))
        _insert(session, IdxBadgeType, _badge_types(brands))
        _insert(session, IdxBadgeBalance, _badges(rng, tiers, brands))
        session.merge(
            IndexCursor(
                id=1,
                next_block=block + 1,
                last_block_hash="0x" + "ab" * 32,
                last_block_timestamp=now,
            )
        )
    by_tier = Counter(TIER_NAMES[t["tier"]] for t in tiers)
    return Seeded(
        members=members,
        tiers={name: by_tier.get(name, 0) for name in TIER_NAMES.values()},
        outstanding=outstanding,
        outstanding_value_micro_usd=outstanding * VALUE_MICRO_USD,
        outstanding_by_brand=by_brand,
    )


def brand_key(database_url: str, ledger_id: int) -> str:
    """A brand row for ledger brand `ledger_id` and an API key of it (the plaintext)."""
    with Session(create_engine(database_url)) as session, session.begin():
        row = Brand(
            ledger_id=ledger_id,
            name=f"Seeded {ledger_id}",
            symbol="SEED",
            status="active",
            value_micro_usd=VALUE_MICRO_USD,
            points_per_usd=10,
            points_per_review=5,
            points_per_share=3,
            points_per_event=5,
            points_per_referral=10,
        )
        session.add(row)
        session.flush()
        return create_key(session, brand_row_id=BrandRowId(row.id), is_admin=False).plaintext


def _line(member: str, brand: int, kind: str, amount: int, at: int, block: int) -> dict[str, Any]:
    return {
        "member": member,
        "brand": brand,
        "kind": kind,
        "amount": amount,
        "counterparty": None,
        "at_brand": None,
        "value_micro_usd": None,
        "op_id": None,
        "source": "purchase" if kind == "earned" else None,
        "order_ref": None,
        "block_number": block,
        "log_index": 0,
        "tx_hash": "0x" + secrets.token_hex(32),
        "timestamp": at,
    }


def _insert(session: Session, model: Any, rows: list[dict[str, Any]]) -> None:
    for start in range(0, len(rows), 5_000):
        if rows[start : start + 5_000]:
            session.execute(insert(table_of(model)), rows[start : start + 5_000])


def _positions(owed: Counter[tuple[int, int]]) -> list[dict[str, Any]]:
    net: Counter[tuple[int, int]] = Counter()
    for (debtor, creditor), value in owed.items():
        lo, hi = min(debtor, creditor), max(debtor, creditor)
        net[(lo, hi)] += value if debtor == lo else -value
    return [{"brand_lo": lo, "brand_hi": hi, "amount_micro_usd": v} for (lo, hi), v in net.items()]


def _events(
    rng: random.Random,
    tiers: list[dict[str, Any]],
    owed: Counter[tuple[int, int]],
    now: int,
    brands: int,
) -> list[dict[str, Any]]:
    rows = []
    types = ("tier.upgraded", "tier.grace_started", "tier.downgraded")
    for n, status in enumerate(tiers[: len(tiers) // 4]):
        brand = rng.randint(1, brands)
        rows.append(
            {
                "event_id": f"evt_seed_tier_{n}",
                "type": rng.choices(types, weights=(6, 2, 1))[0],
                "occurred_at": datetime.fromtimestamp(now - rng.randrange(0, 86_400 * 600), UTC),
                "brands": f",{brand},",
                "payload": {"member": status["member"]},
                "endpoint_id": None,
                "dispatched": True,
            }
        )
    for n, (debtor, creditor) in enumerate(sorted(owed)[:10]):
        value = owed[(debtor, creditor)] // 2
        rows.append(
            {
                "event_id": f"evt_seed_settled_{n}",
                "type": "settlement.settled",
                "occurred_at": datetime.fromtimestamp(now - n * 3_600, UTC),
                "brands": f",{debtor},{creditor},",
                "payload": {
                    "debtor_brand_id": debtor,
                    "creditor_brand_id": creditor,
                    "value_micro_usd": str(value),
                    "token_amount": str(value),
                    "chain": {
                        "block_time": datetime.fromtimestamp(now - n * 3_600, UTC).isoformat()
                    },
                },
                "endpoint_id": None,
                "dispatched": True,
            }
        )
    return rows


def _badge_types(brands: int) -> list[dict[str, Any]]:
    return [
        {
            "type_id": b * 10 + k,
            "brand": b,
            "kind": ("achievement", "collectible")[k],
            "max_supply": 0,
            "min_tier": 0,
            "has_benefit": k == 1,
            "self_mint": False,
            "uri": None,
        }
        for b in range(1, brands + 1)
        for k in (0, 1)
    ]


def _badges(rng: random.Random, tiers: list[dict[str, Any]], brands: int) -> list[dict[str, Any]]:
    rows = []
    for status in tiers[: len(tiers) // 3]:
        type_id = rng.randint(1, brands) * 10 + rng.randint(0, 1)
        redeemed = type_id % 10 == 1 and rng.random() < 0.3
        token = type_id | (1 << 255) if redeemed else type_id
        rows.append(
            {
                "holder": status["member"],
                "token_id": str(token),
                "type_id": type_id,
                "redeemed": redeemed,
                "amount": 1,
            }
        )
    return rows


class ServingGateway(Gateway):
    """A gateway with no sender and no indexer (the seed is the index), on a chain that is
    not there: the gateway figures say so."""

    def __init__(self, tmp_path: Path) -> None:
        self.database_url = f"sqlite:///{tmp_path / 'ledger.db'}"
        super().__init__(
            gateway_env(
                rpc_url=f"http://127.0.0.1:{free_port()}",
                manifest=tmp_path / "no-deployment.json",
                database_url=self.database_url,
                admin_api_key="admin-" + secrets.token_urlsafe(24),
                LEDGER_SENDER_ENABLED="false",
                LEDGER_INDEXER_ENABLED="false",
            )
        )

    def wait_until_ready(self, timeout: float = 60) -> None:
        """Liveness is enough: there is nothing to index or send."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if self.admin.get("/v1/health", timeout=5).status_code == 200:
                    return
            except Exception:  # noqa: BLE001 - not listening yet
                pass
            time.sleep(0.05)
        raise RuntimeError("the gateway did not answer /v1/health")

    def __enter__(self) -> Self:
        return self.start()


def chromium() -> webdriver.Chrome:
    """Headless Chromium (Debian's) with its console log readable (`get_log("browser")`)."""
    missing = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not p.exists()]
    assert not missing, f"{missing} missing: tools/setup.sh installs chromium and chromium-driver"
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(options=options, service=Service(executable_path=str(CHROMEDRIVER)))
