"""The real client packages against a real server in trusted mode.

What a client team does, with the packages pinned in package-lock.json: graphql-codegen's
client preset types graphql/operations/ (and tsc compiles the result, with the preset's
defaults and with Apollo's __typename), Apollo's generator builds the persisted-query
manifest, `laurel documents register` registers it (and codegen's persisted-documents.json)
with a running `laurel serve` in trusted mode, and Apollo Client queries through its
persisted-query link by the manifest's ids and gets real data; after `laurel documents
revoke` the same client is refused. Needs node and npm (`npm ci` runs once, into
node_modules/); skipped without them, failed under LAUREL_REQUIRE_SERVICES=1.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from app.auth import Role, mint_token
from app.config import Settings
from tests import backing_services as services
from tests.test_serve import ROOT, free_port

CLIENTS = Path(__file__).resolve().parent
BIN = CLIENTS / "node_modules" / ".bin"
GENERATED = CLIENTS / "generated"
MANIFEST = GENERATED / "persisted-query-manifest.json"
PERSISTED_DOCUMENTS = GENERATED / "apollo" / "persisted-documents.json"
SECRET = "clients-test-secret-" + "x" * 32
STARTUP_BUDGET_SECONDS = 90

pytestmark = pytest.mark.slow


def run(*command: str | Path, cwd: Path = CLIENTS, timeout: float = 180, **env: str) -> str:
    completed = subprocess.run(
        [str(part) for part in command],
        cwd=cwd,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert completed.returncode == 0, f"{command}:\n{completed.stdout}\n{completed.stderr}"
    return completed.stdout


@pytest.fixture(scope="module")
def node_packages() -> None:
    """The pinned packages in node_modules/, installed by `npm ci` when missing or older
    than the lock file."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        services.unavailable("node and npm", "not on PATH")
    installed = CLIENTS / "node_modules" / ".package-lock.json"
    lock = CLIENTS / "package-lock.json"
    if not installed.exists() or installed.stat().st_mtime < lock.stat().st_mtime:
        run("npm", "ci", "--no-audit", "--no-fund", timeout=600)


@pytest.fixture(scope="module")
def client_build(node_packages: None) -> Iterator[None]:
    """Codegen's client preset, Apollo's manifest, and tsc over what they generated.

    The generated files live at fixed paths the configs name, so two runs of the suite on
    one checkout (`make test-dates` runs its clock offsets side by side) take turns: a file
    lock is held while this module builds and reads them."""
    with (CLIENTS / "generated.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            shutil.rmtree(GENERATED, ignore_errors=True)
            run(BIN / "graphql-codegen", "--config", "codegen.ts")
            run(
                BIN / "generate-persisted-query-manifest",
                "--config",
                "persisted-query-manifest.config.ts",
            )
            run(BIN / "tsc", "--noEmit", "-p", "tsconfig.json")
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _environment(tmp_path: Path) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("LAUREL_")}
    return env | {
        "LAUREL_DATABASE_URL": f"sqlite://{tmp_path / 'laurel.sqlite3'}",
        "LAUREL_JWT_SECRET": SECRET,
        "LAUREL_TRUSTED_DOCUMENTS": "1",
        # Every request reads the registry's version: the CLI's revocation counts at once.
        "LAUREL_DOCUMENT_REFRESH_SECONDS": "0",
        # Nothing else writes to the SQLite file while the CLI does.
        "LAUREL_RUN_JOBS_IN_PROCESS": "0",
    }


def _ready(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2) as response:
            return bool(response.status == 200)
    except OSError:
        return False


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, dict[str, str]]]:
    """`laurel serve` in trusted mode on a free port, with the demo loaded: its URL and the
    environment a CLI needs to reach its database."""
    env, port = _environment(tmp_path), free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "serve", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        started = time.monotonic()
        while not _ready(port):
            assert process.poll() is None, process.communicate()[0]
            assert time.monotonic() - started < STARTUP_BUDGET_SECONDS, "laurel serve is slow"
            time.sleep(0.2)
        yield f"http://127.0.0.1:{port}/graphql", env
    finally:
        process.terminate()
        try:
            process.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()


def laurel(env: dict[str, str], *args: str) -> str:
    return run(sys.executable, "-m", "app.cli", *args, cwd=ROOT, **env)


def apollo(url: str, *mode: str) -> dict[str, object]:
    settings = Settings(jwt_secret=SECRET, redis_url=None, database_url="sqlite://:memory:")
    # A token for a real process, which checks expiry against the wall clock
    token = mint_token(
        settings=settings, role=Role.ADMIN, subject="apollo-test", now=datetime.now(UTC)
    )
    out = run(
        "node", "apollo-trusted.mjs", url, PERSISTED_DOCUMENTS, MANIFEST, *mode, LAUREL_TOKEN=token
    )
    result: dict[str, object] = json.loads(out)
    return result


def test_codegens_client_preset_compiles_every_operation(client_build):
    # tsc ran in client_build over both outputs; here, what it compiled is complete
    manifest = json.loads(MANIFEST.read_text())
    names = {operation["name"] for operation in manifest["operations"]}
    graphql_ts = (GENERATED / "plain" / "graphql.ts").read_text()

    assert {"TierLadder", "Members", "CreateLeaderboard", "MemberUpdates"} <= names
    assert all(f"{name}Document" in graphql_ts for name in names)
    # Every body as Apollo Client sends it: __typename in every selection set
    ladder = next(o for o in manifest["operations"] if o["name"] == "TierLadder")
    assert ladder["body"].count("__typename") == 2


def test_apollo_client_gets_real_data_in_trusted_mode(client_build, server):
    url, env = server
    registered = laurel(
        env, "documents", "register", "--client", "member-app", "--version", "1.0.0", str(MANIFEST)
    )
    codegen = laurel(
        env,
        "documents",
        "register",
        "--client",
        "console",
        "--version",
        "1.0.0",
        str(PERSISTED_DOCUMENTS),
    )

    result = apollo(url)

    operations = len(json.loads(MANIFEST.read_text())["operations"])
    assert registered.startswith(f"Registered: member-app 1.0.0, {operations} documents")
    assert codegen.startswith(f"Registered: console 1.0.0, {operations} documents")
    # Real data, through Apollo's normalised cache, not empty objects
    ladder = result["tierLadder"]["data"]["tierLadder"]  # type: ignore[index]
    assert [tier["name"] for tier in ladder] == ["Member", "Silver", "Gold", "Platinum"]
    assert [tier["entryThreshold"] for tier in ladder] == [0, 1000, 5000, 20000]
    edges = result["members"]["data"]["members"]["edges"]  # type: ignore[index]
    assert [edge["node"]["externalId"] for edge in edges] == ["demo-0001", "demo-0002", "demo-0003"]
    assert all(edge["node"]["displayName"] and edge["node"]["tier"]["name"] for edge in edges)
    member = result["member"]["data"]["member"]  # type: ignore[index]
    assert member["externalId"] == "demo-0001"
    assert member["tierProgress"]["next"]["code"] == "silver"
    assert result["cachedMember"] == result["member"]["data"]  # type: ignore[index]
    enrolled = result["enroll"]["data"]["enrollMember"]  # type: ignore[index]
    assert enrolled["__typename"] == "MemberEnrolled"
    assert enrolled["member"]["displayName"] == "Apollo"
    # One request per operation, by id alone; the documents the app sends are the manifest's
    requests = result["requests"]
    assert [(r["operationName"], r["sentText"]) for r in requests] == [  # type: ignore[union-attr]
        ("TierLadder", False),
        ("Members", False),
        ("Member", False),
        ("EnrollMember", False),
        ("AdHoc", True),
    ]
    assert result["verificationFailures"] == []
    assert result["warnings"] == []
    # A document outside the manifest is refused, loudly
    assert result["adHoc"]["codes"] == ["DOCUMENT_NOT_TRUSTED"]  # type: ignore[index]

    laurel(env, "documents", "revoke", "--client", "member-app", "--version", "1.0.0")
    laurel(env, "documents", "revoke", "--client", "console", "--version", "1.0.0")
    revoked = apollo(url, "revoked")

    # The id is unknown now; Apollo's retry with the text is not trusted either
    assert "data" not in revoked["tierLadder"]  # type: ignore[operator]
    assert revoked["tierLadder"]["codes"] == ["DOCUMENT_NOT_TRUSTED"]  # type: ignore[index]
    assert [r["sentText"] for r in revoked["requests"]] == [False, True]  # type: ignore[union-attr]
