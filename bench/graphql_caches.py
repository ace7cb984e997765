"""What the parser and validation caches buy, and what defeats them.

Executes the member app's `Members` operation (the whole graphql/operations/members.graphql
document, as a client sends it) in-process against the real schema on a demo SQLite
database. Variants run interleaved, round after round, so the shared machine's noise hits
them alike; the median executions per second of the rounds is printed.

    .venv/bin/python bench/graphql_caches.py [--rounds 5] [--seconds 1.0]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import strawberry
from _databases import bench_settings, connected
from strawberry.extensions import (
    AddValidationRules,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    ParserCache,
    QueryDepthLimiter,
    ValidationCache,
)

from app.api.http.observability import OperationObserver
from app.api.schema import (
    DOCUMENT_CACHE_SIZE,
    LIMIT_RULES,
    MAX_ALIASES,
    MAX_QUERY_DEPTH,
    MAX_TOKENS,
    Mutation,
    Query,
    build_schema,
    schema_config,
)
from app.api.shared.context import Context
from app.auth import Principal, Role
from app.config import Settings
from app.observability import Metrics
from app.services.leaderboards.sql import SqlBoardReader
from app.services.notifications.updates import LocalBroker
from app.services.programme.demo import load_demo

DOCUMENT = (
    Path(__file__).resolve().parent.parent / "graphql/operations/members.graphql"
).read_text()


def variants() -> dict[str, strawberry.Schema]:
    def schema(*extensions: object) -> strawberry.Schema:
        return strawberry.Schema(
            query=Query, mutation=Mutation, extensions=list(extensions), config=schema_config()
        )

    return {
        "as served (caches + limits)": build_schema(production=False),
        "same limits, no caches": schema(
            OperationObserver,
            lambda: MaxTokensLimiter(max_token_count=MAX_TOKENS),
            lambda: AddValidationRules(LIMIT_RULES),
        ),
        "caches + stock limiters": schema(
            OperationObserver,
            lambda: MaxTokensLimiter(max_token_count=MAX_TOKENS),
            lambda: ParserCache(maxsize=DOCUMENT_CACHE_SIZE),
            lambda: QueryDepthLimiter(max_depth=MAX_QUERY_DEPTH),
            lambda: MaxAliasesLimiter(max_alias_count=MAX_ALIASES),
            lambda: ValidationCache(maxsize=DOCUMENT_CACHE_SIZE),
        ),
    }


async def rate(schema: strawberry.Schema, settings: Settings, seconds: float) -> float:
    metrics = Metrics()
    count = 0
    started = time.perf_counter()
    while (elapsed := time.perf_counter() - started) < seconds:
        context = Context(
            request=None,  # type: ignore[arg-type]
            response=None,
            settings=settings,
            metrics=metrics,
            updates=LocalBroker(),
            boards=SqlBoardReader(),
            principal=Principal(subject="bench", role=Role.MARKETER),
        )
        result = await schema.execute(
            DOCUMENT, {"first": 10}, context_value=context, operation_name="Members"
        )
        assert result.errors is None, result.errors
        count += 1
    return count / elapsed


async def main(rounds: int, seconds: float) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        settings = bench_settings(f"sqlite://{Path(tmp) / 'bench.sqlite3'}")
        async with connected(settings):
            await load_demo(now=datetime.now(UTC))
            schemas = variants()
            rates: dict[str, list[float]] = {name: [] for name in schemas}
            for _ in range(rounds):
                for name, schema in schemas.items():
                    rates[name].append(await rate(schema, settings, seconds))
    print(f"Members(first: 10) in-process on SQLite, median of {rounds} rounds of {seconds}s")
    baseline = statistics.median(rates["same limits, no caches"])
    for name, values in rates.items():
        median = statistics.median(values)
        print(f"  {name:<30} {median:8.0f} executions/s  ({median / baseline:.2f}x)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=1.0)
    args = parser.parse_args()
    asyncio.run(main(args.rounds, args.seconds))
