"""JSON responses rendered by orjson (the standard library's encoder showed in the earn
path's profile; issue 15). Bodies are JSON-ready already (FastAPI encodes models first)."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi.responses import JSONResponse


class FastJSONResponse(JSONResponse):
    """`JSONResponse` with orjson's encoder: compact UTF-8, the same JSON values. orjson
    refuses integers beyond 64 bits (a signer's balance in wei): such a body falls back to the
    standard library's encoder."""

    def render(self, content: Any) -> bytes:
        try:
            return orjson.dumps(content, option=orjson.OPT_NON_STR_KEYS)
        except TypeError:  # orjson.JSONEncodeError: an integer beyond 64 bits
            return super().render(content)
