"""`tools/steps.sh`'s `step` line says how a step ended: done, failed with its status, or
stopped by a signal. A Ctrl-C during `make run`'s start (SIGINT to a step) was reported as
`failed (status 130)`, as if the step had broken; it now says `stopped by SIGINT`."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

STEPS = Path(__file__).resolve().parents[2] / "tools" / "steps.sh"


def _step(command: str) -> tuple[int, str]:
    """Runs `step demo bash -c COMMAND` off a terminal; (its status, its last line)."""
    done = subprocess.run(
        ["bash", "-c", f'source "{STEPS}"; step demo bash -c "$1"', "steps", command],
        capture_output=True,
        text=True,
        timeout=60,
    )
    return done.returncode, done.stderr.strip().splitlines()[-1]


@pytest.mark.parametrize(
    ("command", "status", "line"),
    [
        ("true", 0, "✓ demo ("),
        ("exit 3", 3, "✗ demo failed (status 3, "),
        ("kill -INT $$", 130, "✗ demo stopped by SIGINT ("),
        ("kill -TERM $$", 143, "✗ demo stopped by SIGTERM ("),
        ("kill -KILL $$", 137, "✗ demo stopped by SIGKILL ("),
    ],
)
def test_a_step_says_how_it_ended(command: str, status: int, line: str) -> None:
    returned, last = _step(command)
    assert returned == status
    assert last.strip().startswith(line), last
