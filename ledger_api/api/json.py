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
    uint256 values) is rendered by the standard library's encoder, as exact JSON numbers. A
    string that is not valid Unicode (a lone surrogate a caller sent, echoed by an error)
    goes out as its JSON escape (`\\ud800`) rather than failing the answer (a 500)."""

    def render(self, content: Any) -> bytes:
        try:
            return orjson.dumps(content, option=orjson.OPT_NON_STR_KEYS)
        except orjson.JSONEncodeError:
            text = json.dumps(content, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
            try:
                return text.encode("utf-8")
            except UnicodeEncodeError:  # only the escapes are ASCII-safe for such a string
                return json.dumps(content, allow_nan=False, separators=(",", ":")).encode()
