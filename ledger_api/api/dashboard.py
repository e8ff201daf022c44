"""`/dashboard`: the membership health dashboard, a page served whole by the gateway.

The page and its assets come from this package (`api/static/`) and from the npm package
`chart.js` that `tools/setup.sh` installs (`node_modules/chart.js/dist/chart.umd.min.js`):
nothing is loaded from elsewhere, and the page's Content-Security-Policy allows its own
origin only. The page asks for an API key, keeps it in the tab's `sessionStorage` (never in
a URL) and sends it as `Authorization: Bearer` to the JSON endpoints it draws
(`/v1/stats/...`, `/v1/settlement/positions`): the admin key sees the whole alliance, a
brand key its own brand and its pairs. The page itself and its assets hold no data and need
no key.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse, Response

from ledger_api.errors import NotFound

router = APIRouter(include_in_schema=False)

STATIC = Path(__file__).resolve().parent / "static"
#: the repository's npm packages (`tools/setup.sh`); `LEDGER_*` settings do not move them
NODE_MODULES = Path(__file__).resolve().parents[2] / "node_modules"
ASSETS = {
    "dashboard.js": (STATIC / "dashboard.js", "text/javascript"),
    "dashboard.css": (STATIC / "dashboard.css", "text/css"),
    "chart.umd.min.js": (NODE_MODULES / "chart.js/dist/chart.umd.min.js", "text/javascript"),
}
_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
_HEADERS = {
    "Content-Security-Policy": _POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}


@router.get("/dashboard")
async def dashboard() -> Response:
    """The page (HTML); its data comes from the JSON endpoints, with the key the user gives."""
    return FileResponse(STATIC / "dashboard.html", media_type="text/html", headers=_HEADERS)


@router.get("/dashboard/assets/{name}")
async def asset(name: str) -> Response:
    """One of the page's scripts or styles (a fixed list: no path from the request is read)."""
    found = ASSETS.get(name)
    if found is None or not found[0].is_file():
        raise NotFound(f"no dashboard asset {name!r}")
    path, media_type = found
    return FileResponse(path, media_type=media_type, headers=_HEADERS)
