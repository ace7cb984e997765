"""`laurel serve` (what `make run` starts): a real process answering GraphQL over HTTP."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STARTUP_BUDGET_SECONDS = 60


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def ask_ladder(port: int) -> list[str] | None:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/graphql",
        data=json.dumps({"query": "{ tierLadder { name } }"}).encode(),
        headers={"content-type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=2) as response:
            body = json.load(response)
    except OSError:
        return None
    return [tier["name"] for tier in body["data"]["tierLadder"]]


def serve_until_answered(port: int, env: dict[str, str]) -> tuple[float, list[str], str]:
    """Start the server, wait for the ladder query, stop it with Ctrl-C (SIGINT)."""
    started = time.monotonic()
    process = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "serve", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        ladder = None
        while ladder is None and time.monotonic() - started < STARTUP_BUDGET_SECONDS:
            assert process.poll() is None, process.communicate()[0]
            ladder = ask_ladder(port)
            time.sleep(0.2)
        elapsed = time.monotonic() - started
        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert ladder is not None, f"no answer within {STARTUP_BUDGET_SECONDS}s:\n{output}"
    assert process.returncode == 0, output
    return elapsed, ladder, output


def test_serve_answers_the_ladder_within_a_minute_and_keeps_its_data(tmp_path):
    env = {key: value for key, value in os.environ.items() if not key.startswith("LAUREL_")}
    env["LAUREL_DATABASE_URL"] = f"sqlite://{tmp_path / 'var' / 'laurel.sqlite3'}"
    env["LAUREL_DEV_SECRET_FILE"] = str(tmp_path / "var" / "dev-jwt-secret")

    elapsed, ladder, output = serve_until_answered(free_port(), env)

    assert elapsed < STARTUP_BUDGET_SECONDS
    assert ladder == ["Member", "Silver", "Gold", "Platinum"]
    assert "Loaded the demo programme: 4 tiers, 200 members." in output
    assert "Application shutdown complete" in output

    _, ladder_again, output_again = serve_until_answered(free_port(), env)

    assert ladder_again == ladder
    assert "Demo not loaded: the database already holds a programme (200 members)" in output_again
