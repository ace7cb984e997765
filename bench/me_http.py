"""The member app's home screen (`Me`) over HTTP, against the trivial query on the same server.

On PostgreSQL and Redis with production settings: a database created beside
LAUREL_BENCH_POSTGRES_URL (dropped after) holds the demo programme; a member on a middle
tier (so that ``tierProgress.next`` is there) signs in with a member token. Against one
``uvicorn --workers N`` server, ``wrk`` (Debian's package; one thread, 32 keep-alive
connections) POSTs, round after round, interleaved so that a shared machine's noise hits
both alike:

- ``{ __typename }`` with the same token: what the stack costs (HTTP, auth, GraphQL);
- ``Me`` as the client sends it (the whole graphql/operations/members.graphql document).

It prints the medians of the rounds, the ratio Me/trivial (the target is at least 0.5),
and the SQL statements one ``Me`` request sends, counted in-process through the ORM once
the per-process programme cache is warm.

    .venv/bin/python bench/me_http.py [--workers 1] [--rounds 3] [--seconds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import urllib.request
from datetime import UTC, datetime

import httpx
from _databases import (
    REDIS_URL,
    ROOT,
    connected,
    counted_statements,
    redis_prefix,
    server_env,
    settings_of,
    temporary_postgres,
    uvicorn_server,
    wrk_rate,
)

from app.auth import Role, mint_token
from app.config import Settings
from app.main import create_app
from app.models import Member
from app.services.programme.demo import load_demo

ME = json.dumps(
    {
        "query": (ROOT / "graphql" / "operations" / "members.graphql").read_text(),
        "operationName": "Me",
    }
)
TRIVIAL = json.dumps({"query": "{ __typename }"})
COUNTED_REQUESTS = 20


async def seed(settings: Settings) -> int:
    """The demo programme; the id of a member on the middle of the ladder."""
    async with connected(settings):
        await load_demo(now=datetime.now(UTC))
        member = await Member.filter(tier__rank=1).order_by("id").first()
        assert member is not None, "the demo has no member on rank 1"
        return member.id


def post(port: int, body: str, headers: dict[str, str]) -> dict[str, object]:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/graphql", data=body.encode(), headers=headers, method="POST"
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        answer: dict[str, object] = json.loads(response.read())
    assert "errors" not in answer, answer
    return answer


async def statements_per_me(settings: Settings, headers: dict[str, str]) -> list[str]:
    """The statements of one Me request (the same for each of COUNTED_REQUESTS, or this
    fails), through the app in this process once its caches are warm."""
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://bench", headers=headers
        ) as client:
            await client.post("/graphql", content=ME)  # warm: parser, validation, programme
            counts = []
            for _ in range(COUNTED_REQUESTS):
                with counted_statements() as sent:
                    response = await client.post("/graphql", content=ME)
                assert "errors" not in response.json(), response.text
                counts.append(len(sent))
    assert len(set(counts)) == 1, f"statements per Me vary: {counts}"
    return sent


async def measure(args: argparse.Namespace, url: str) -> None:
    env = server_env(url, redis_url=REDIS_URL, redis_prefix=redis_prefix())
    settings = settings_of(env)
    print("loading the demo programme ...", flush=True)
    member_id = await seed(settings)
    token = mint_token(
        settings=settings,
        role=Role.MEMBER,
        subject="bench",
        member_id=member_id,
        now=datetime.now(UTC),
    )
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
    sent = await statements_per_me(settings, headers)

    rates: dict[str, list[float]] = {"trivial": [], "Me": []}
    async with uvicorn_server(env, workers=args.workers) as port:
        for body in (TRIVIAL, ME):
            post(port, body, headers)  # right answers, and every cache warm
        for _ in range(args.rounds):
            for name, body in (("trivial", TRIVIAL), ("Me", ME)):
                rates[name].append(
                    await wrk_rate(port, body, headers=headers, seconds=args.seconds)
                )
    trivial, me = (statistics.median(rates[k]) for k in ("trivial", "Me"))
    print(
        f"\nPostgreSQL + Redis, production settings, uvicorn --workers {args.workers}, "
        f"wrk 32 connections; medians of {args.rounds} x {args.seconds} s"
    )
    print(f"  {{ __typename }}   {trivial:8,.0f} req/s   rounds: {_rounds(rates['trivial'])}")
    print(f"  Me               {me:8,.0f} req/s   rounds: {_rounds(rates['Me'])}")
    print(f"  Me / trivial     {me / trivial:8.2f}   (target >= 0.5)")
    print(f"  SQL statements per Me request: {len(sent)}")
    for statement in sent:
        print(f"    {statement}")


def _rounds(values: list[float]) -> str:
    return ", ".join(f"{v:,.0f}" for v in values)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=5)
    args = parser.parse_args()
    async with temporary_postgres() as url:
        await measure(args, url)


if __name__ == "__main__":
    asyncio.run(main())
