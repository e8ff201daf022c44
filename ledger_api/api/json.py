"""JSON responses rendered by orjson (the standard library's encoder showed in the earn
path's profile; issue 15). Bodies are JSON-ready already (FastAPI encodes models first)."""

from __future__ import annotations

import json
from typing import Any

import orjson
from fastapi.responses import JSONResponse


class FastJSONResponse(JSONResponse):
    """`JSONResponse` with orjson's encoder: compact UTF-8, the same JSON values.

    orjson encodes integers of 64 bits at most; a body holding a larger one (wei amounts,
    uint256 values) is rendered by the standard library's encoder, as exact JSON numbers."""

    def render(self, content: Any) -> bytes:
        try:
            return orjson.dumps(content, option=orjson.OPT_NON_STR_KEYS)
        except orjson.JSONEncodeError:
            return json.dumps(
                content, ensure_ascii=False, allow_nan=False, separators=(",", ":")
            ).encode("utf-8")
