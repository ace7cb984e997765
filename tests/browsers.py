"""What the browser tests share: Debian's chromium (skipped with the reason when absent,
a failure under LAUREL_REQUIRE_SERVICES=1) and ``laurel serve`` in a subprocess on a free
port, on a SQLite file of its own."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests import backing_services as services
from tests.live import free_port

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")


def chromium_path() -> Path:
    """Debian's chromium, which Playwright drives (its own browser download cannot work
    here)."""
    if not CHROMIUM.exists() or shutil.which("chromium") is None:
        services.unavailable("chromium", f"{CHROMIUM} not found (apt-get install -y chromium)")
    return CHROMIUM


def _ready(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as response:
            return bool(response.status == 200)
    except OSError:
        return False


@contextmanager
def laurel_serving(folder: Path, *, env: dict[str, str], startup_seconds: float) -> Iterator[str]:
    """``laurel serve`` on a free port with ``LAUREL_*`` settings ``env`` only (the
    caller's own LAUREL_ variables left out) and its database in ``folder``; yields its
    base URL once /healthz answers, stops it at the end. Its output is in
    ``folder/serve.log``, shown when it fails to start."""
    port = free_port()
    settings = {key: value for key, value in os.environ.items() if not key.startswith("LAUREL_")}
    settings |= {"LAUREL_DATABASE_URL": f"sqlite://{folder / 'laurel.sqlite3'}", **env}
    log = folder / "serve.log"
    with log.open("w") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "app.cli", "serve", "--port", str(port)],
            cwd=ROOT,
            env=settings,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        started = time.monotonic()
        while not _ready(port):
            assert process.poll() is None, log.read_text()
            assert time.monotonic() - started < startup_seconds, log.read_text()
            time.sleep(0.2)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
