"""The gateway's JSON encoder keeps every integer exact, also beyond 64 bits (wei, uint256)."""

from __future__ import annotations

import json

from ledger_api.api.json import FastJSONResponse


def test_integers_beyond_64_bits_are_rendered_exactly() -> None:
    body = {"balance_wei": 10**22, "id": 2**256 - 1, "note": "é", "nested": [{"n": -(2**70)}]}
    rendered = FastJSONResponse(body).body
    assert json.loads(rendered) == body
    assert b" " not in rendered  # compact, as orjson renders


def test_ordinary_bodies_keep_orjson_output() -> None:
    body = {"a": 1, "b": [1.5, None, True], "c": "x"}
    assert FastJSONResponse(body).body == b'{"a":1,"b":[1.5,null,true],"c":"x"}'
