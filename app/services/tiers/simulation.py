"""What a draft ladder version would do to the members, computed without writing anything.

One grouped statement places every member twice under the draft (see
:mod:`gamification.tiers.simulation`): at the switch, by the same rank mapping the ladder
switch applies (the same SQL), and settled, by the draft's entry rules (growth and
required facts) and retention thresholds. It returns one row per (tier held, rank at the
switch, settled rank): at most a few dozen rows, however many members there are.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.db import connection, sql
from app.models import Benefit, LadderVersion, LadderVersionStatus, Tier, TierBenefit
from app.services.shared.errors import InvalidInput
from app.services.shared.lookups import get_or_not_found
from gamification.tiers.ladder import TierRule
from gamification.tiers.simulation import HeldTier, MemberGroup, Simulation, summarise


@dataclass(frozen=True, slots=True)
class LadderSimulation:
    version: LadderVersion
    simulation: Simulation
    # Code -> name of every benefit a change mentions.
    benefit_names: dict[str, str]


def _reach(draft: list[TierRule]) -> tuple[str, list[object]]:
    """SQL for the highest draft rank whose entry threshold and requirements member ``m``
    meets (0: the base tier), and its parameters."""
    whens: list[str] = []
    params: list[object] = []
    for tier in reversed(draft[1:]):
        condition = "m.growth >= ?"
        params.append(tier.entry_threshold)
        for key, minimum in tier.requirements:
            condition += (
                " AND COALESCE((SELECT f.value FROM member_fact f "
                "WHERE f.member_id = m.id AND f.key = ?), 0) >= ?"
            )
            params += [key, minimum]
        whens.append(f"WHEN {condition} THEN {int(tier.rank)}")
    if not whens:
        return "0", []
    return f"CASE {' '.join(whens)} ELSE 0 END", params


async def _groups(version_id: int, draft: list[TierRule]) -> list[tuple[int, int, int, int]]:
    reach, reach_params = _reach(draft)
    conn = connection()
    rows = await conn.execute_query_dict(
        sql(
            conn,
            # The mapping of app.services.tiers.switch: old tier -> same rank (clamped).
            "WITH mp AS (SELECT o.id AS old_id, n.rank AS new_rank, "
            "n.retention_threshold AS keep_at "
            "FROM tier o JOIN tier n ON n.ladder_version_id = ? AND n.rank = "
            "(SELECT max(x.rank) FROM tier x WHERE x.ladder_version_id = ? AND x.rank <= o.rank) "
            "WHERE o.ladder_version_id <> ?) "
            "SELECT held, switched, settled, count(*) AS n FROM ("
            "SELECT s.old_id AS held, s.new_rank AS switched, "
            "CASE WHEN s.reach > s.new_rank THEN s.reach "
            "WHEN s.new_rank > 0 AND s.growth < s.keep_at THEN s.new_rank - 1 "
            "ELSE s.new_rank END AS settled FROM ("
            f"SELECT mp.old_id, mp.new_rank, mp.keep_at, m.growth, {reach} AS reach "
            "FROM member m JOIN mp ON mp.old_id = m.tier_id) s"
            ") t GROUP BY held, switched, settled",
        ),
        [version_id, version_id, version_id, *reach_params],
    )
    return [(int(r["held"]), int(r["switched"]), int(r["settled"]), int(r["n"])) for r in rows]


async def simulate_ladder(*, version_id: int) -> LadderSimulation:
    """Promotions, demotions and benefit changes the draft ``version_id`` would cause, at
    the switch and settled. Refuses a version that is not a draft."""
    version = await get_or_not_found(LadderVersion, version_id)
    if version.status is not LadderVersionStatus.DRAFT:
        raise InvalidInput.single("draftVersionId", "only a draft version can be simulated")
    draft = [t.to_rule() for t in await Tier.filter(ladder_version_id=version_id).order_by("rank")]
    if not draft:
        raise InvalidInput.single("draftVersionId", "the draft has no tiers")
    rows = await _groups(version_id, draft)
    held = {
        t.id: HeldTier(rank=t.rank, code=t.code, name=t.name)
        for t in await Tier.filter(id__in={r[0] for r in rows})
    }
    matrix: dict[str, set[str]] = {}
    live = await Benefit.filter(archived_at__isnull=True).values_list("id", "code", "name")
    by_id = {pk: code for pk, code, _ in live}
    names = {code: name for _, code, name in live}
    for tier_code, benefit_id in await TierBenefit.all().values_list("tier_code", "benefit_id"):
        if benefit_id in by_id:
            matrix.setdefault(tier_code, set()).add(by_id[benefit_id])
    simulation = summarise(
        [MemberGroup(held[h], switched, settled, n) for h, switched, settled, n in rows],
        draft=draft,
        matrix={code: frozenset(codes) for code, codes in matrix.items()},
    )
    mentioned = {
        c.benefit for o in (simulation.at_switch, simulation.settled) for c in o.benefit_changes
    }
    return LadderSimulation(
        version=version,
        simulation=simulation,
        benefit_names={code: names[code] for code in mentioned},
    )
