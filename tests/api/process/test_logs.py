"""The gateway's log lines: each says when it was written, whichever process wrote it.

A new user's trial (session 45) read `ledger serve`'s text log and could not tell when a line
was written: uvicorn's lines read `INFO:     ...` and the ledger's own warnings the message
alone. Each text line now starts with the UTC time, the level, the logger and the pid."""

from __future__ import annotations

import json
import re
import secrets
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from support.chain import Anvil
from support.gateway import GatewayProcess, gateway_env
from support.progress import wait_for

#: `2026-12-07T07:50:01.123Z INFO uvicorn.access [4242] ...`
LINE = re.compile(
    r"^(?P<time>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)"
    r" (?P<level>DEBUG|INFO|WARNING|ERROR|CRITICAL) (?P<logger>[\w.]+)"
    r" \[(?P<pid>\d+)\] (?P<message>.*)$"
)


def test_every_text_log_line_says_when_and_who(
    anvil: Anvil, manifest: Path, tmp_path: Path
) -> None:
    env = gateway_env(
        rpc_url=anvil.url,
        manifest=manifest,
        database_url=f"sqlite:///{tmp_path / 'ledger.db'}",
        admin_api_key="admin-" + secrets.token_urlsafe(24),
        LEDGER_SENDER_PROCESS="true",  # as `make run`: `ledger work` logs to the same file
    )
    log = tmp_path / "gateway.log"
    started = datetime.now(UTC) - timedelta(seconds=1)
    gateway = GatewayProcess(env, log, log_level="info").start()
    try:
        answer = httpx.get(f"{gateway.base_url}/v1/health/ready-probe-path", timeout=30)
        assert answer.status_code == 404, answer.text

        def lines() -> list[str] | None:
            text = log.read_text().splitlines()
            return text if any("/v1/health/ready-probe-path" in line for line in text) else None

        written = wait_for(lines, what="the request's access line")
    finally:
        gateway.stop()
    parsed = [(line, LINE.match(line)) for line in written if line.strip()]
    assert [line for line, match in parsed if match is None] == [], written
    stamps = [datetime.fromisoformat(match["time"]) for _, match in parsed if match]
    assert all(started <= at <= datetime.now(UTC) for at in stamps), stamps
    access = [m for line, m in parsed if m and "/v1/health/ready-probe-path" in line]
    assert access[0]["logger"] == "uvicorn.access" and access[0]["level"] == "INFO", access
    assert int(access[0]["pid"]) > 0


def test_json_log_lines_carry_no_terminal_colour_codes(
    anvil: Anvil, manifest: Path, tmp_path: Path
) -> None:
    """A trial: `LEDGER_LOG_FORMAT=json` lines of uvicorn carried its `color_message`, the
    message again with terminal colour codes (`\\u001b[36m`)."""
    env = gateway_env(
        rpc_url=anvil.url,
        manifest=manifest,
        database_url=f"sqlite:///{tmp_path / 'ledger.db'}",
        admin_api_key="admin-" + secrets.token_urlsafe(24),
        LEDGER_LOG_FORMAT="json",
    )
    log = tmp_path / "gateway.log"
    gateway = GatewayProcess(env, log, log_level="info").start()
    try:
        written = wait_for(
            lambda: (lines := log.read_text().splitlines()) and len(lines) >= 2 and lines,
            what="the gateway's first log lines",
        )
    finally:
        gateway.stop()
    records = [json.loads(line) for line in written if line.startswith("{")]
    assert records and all("color_message" not in r for r in records), records
    assert not any("\x1b" in line or "\\u001b" in line for line in written), written
