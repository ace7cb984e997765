"""Which documents the top-page cache may answer: only those that say nothing of the caller."""

from __future__ import annotations

import pytest
from graphql import parse

from app.api.leaderboards.top_cache import _public_plan
from tests.operations import documents

TOP = "query T($c: String!) { leaderboard(code: $c) { size entries { edges { node { rank } } } } }"
Q = "query T($c: String!) "


@pytest.mark.parametrize(
    "document",
    [
        TOP,
        'query { leaderboard(code: "points", period: "2026-11") { name size } }',
        Q + "{ leaderboard(code: $c) { ...Pub } } fragment Pub on Leaderboard { size }",
    ],
)
def test_public_documents_are_cacheable(document):
    assert _public_plan(parse(document), None) is not None


@pytest.mark.parametrize(
    "document",
    [
        "query T($c: String!) { leaderboard(code: $c) { size me { rank } } }",
        "query T($c: String!) { leaderboard(code: $c) { around(radius: 1) { rank } } }",
        Q + "{ leaderboard(code: $c) { ...Mine } } fragment Mine on Leaderboard { me { rank } }",
        "query T($c: String!) { leaderboard(code: $c) { ... on Leaderboard { me { rank } } } }",
        "query T($c: String!) { leaderboard(code: $c) @include(if: true) { size } }",
        "query T($c: String!) { leaderboard(code: $c) { size } me { id } }",
        Q + "{ other: leaderboard(code: $c) { size } leaderboard(code: $c) { size } }",
        "mutation { setLeaderboardVisibility(visible: true) { __typename } }",
    ],
)
def test_documents_about_the_caller_are_never_cached(document):
    assert _public_plan(parse(document), None) is None


def test_of_the_client_operations_only_the_public_top_is_cacheable():
    cacheable = {
        name for name, text in documents().items() if _public_plan(parse(text), name) is not None
    }
    assert cacheable == {"LeaderboardTop"}
