"""The `ledger` command line, run as the operator would."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

from support.chain import ROOT
from support.gateway import Gateway, Member

KEY = re.compile(r"(lk_[0-9a-f]{8}_\S+)")


def ledger(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: PLW1510 - the tests check returncode
        [sys.executable, "-m", "ledger_api.cli", *args],
        env={**os.environ, **env},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_operator_adds_a_brand_lists_it_and_rotates_its_key(env: dict[str, str]) -> None:
    upgraded = ledger(env, "db", "upgrade")
    assert upgraded.returncode == 0, upgraded.stderr

    added = ledger(
        env, "brand", "add", "Cli Brand", "--value-micro-usd", "10000", "--daily-cap", "5000"
    )
    assert added.returncode == 0, added.stderr
    assert "onboarded" in added.stdout
    first_key = KEY.search(added.stdout)
    assert first_key is not None

    listed = [json.loads(line) for line in ledger(env, "brand", "list").stdout.splitlines()]
    (brand,) = [b for b in listed if b["name"] == "Cli Brand"]
    assert brand["status"] == "active" and brand["daily_cap_points"] == 5000

    rotated = ledger(env, "key", "rotate", "Cli Brand")
    assert rotated.returncode == 0, rotated.stderr
    new_key = KEY.search(rotated.stdout)
    assert new_key is not None

    admin = ledger(env, "admin-key", "create")
    admin_key = KEY.search(admin.stdout)
    assert admin.returncode == 0 and admin_key is not None

    with Gateway(env) as gateway:
        old = gateway.api(first_key.group(1))
        assert (
            old.post(
                "/v1/earn/purchase",
                {"member": Member().address, "amount_cents": 100, "order_ref": "o"},
            ).status_code
            == 401
        )
        api = gateway.api(new_key.group(1))
        response = api.post(
            "/v1/earn/purchase",
            {"member": Member().address, "amount_cents": 100, "order_ref": "o"},
            params={"wait": "true"},
        )
        assert response.status_code == 200 and response.json()["status"] == "confirmed", (
            response.text
        )
        assert gateway.api(admin_key.group(1)).get("/v1/admin/brands").status_code == 200


def test_brand_add_while_the_gateway_runs_lets_the_gateway_send(env: dict[str, str]) -> None:
    with Gateway(env) as gateway:
        added = ledger(env, "brand", "add", "Live Brand")
        assert added.returncode == 0, added.stderr + added.stdout
        key = KEY.search(added.stdout)
        assert key is not None
        response = gateway.api(key.group(1)).post(
            "/v1/earn/engagement",
            {"member": Member().address, "kind": "share"},
            params={"wait": "true"},
        )
        assert response.json()["status"] == "confirmed", response.text


def test_unknown_brand_is_an_error(env: dict[str, str]) -> None:
    result = ledger(env, "key", "rotate", "Nobody")
    assert result.returncode != 0
    assert "no onboarded brand" in result.stderr
