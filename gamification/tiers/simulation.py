"""What a draft ladder would do to the members: the rules, and the summary of their counts.

Two moments are told apart, because the programme moves members in two steps:

* **at the switch**: when a version takes effect, every member moves to the tier of the
  same rank in it (the highest rank it has, if it has fewer tiers); nothing else changes
  (:func:`switched_rank`, what ``app.services.tiers.switch`` does).
* **settled**: then the new thresholds act on the member's growth: a member whose growth
  (and facts) meet a higher tier's entry rule is promoted to the highest such tier by
  their next event; otherwise a member below the retention threshold of the tier held
  drops one tier at the next evaluation (:func:`settled_rank`, the rules of
  :func:`gamification.tiers.ladder.promotion_target` and
  :func:`gamification.tiers.evaluation.demotion_target`), assuming growth and facts stay as
  they are now.

The service computes both ranks for every member in one grouped SQL statement; this module
holds the reference rules and turns the grouped counts into the report.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from gamification.tiers.evaluation import demotion_target
from gamification.tiers.ladder import TierRule, promotion_target


def switched_rank(held_rank: int, *, ladder_size: int) -> int:
    """The rank a member holding ``held_rank`` gets when a ladder of ``ladder_size`` tiers
    takes effect."""
    return min(held_rank, ladder_size - 1)


def settled_rank(
    tiers: Sequence[TierRule], *, switched: int, growth: int, facts: Mapping[str, int]
) -> int:
    """The rank the draft's rules then give: promoted as high as growth and facts allow,
    else one down when growth is below the retention threshold of the tier held."""
    current = tiers[switched]
    promoted = promotion_target(tiers, current=current, growth=growth, facts=facts)
    if promoted.rank > current.rank:
        return promoted.rank
    return demotion_target(tiers, current=current, growth=growth).rank


@dataclass(frozen=True, slots=True)
class HeldTier:
    """A tier members hold now (of the ladder in force, or of an older version)."""

    rank: int
    code: str
    name: str


@dataclass(frozen=True, slots=True)
class MemberGroup:
    """How many members hold ``held`` now and would get each of the two ranks."""

    held: HeldTier
    switched_rank: int
    settled_rank: int
    members: int


@dataclass(frozen=True, slots=True)
class Movement:
    """For the members holding one tier now: how many move up, down or stay (by rank)."""

    held: HeldTier
    members: int
    promoted: int
    demoted: int
    unchanged: int


@dataclass(frozen=True, slots=True)
class DraftTierCount:
    rank: int
    code: str
    name: str
    members: int


@dataclass(frozen=True, slots=True)
class BenefitChange:
    """Members who would gain (``added``) or lose (``removed``) a benefit of the tier
    matrix because their tier code changes."""

    benefit: str
    added: int
    removed: int


@dataclass(frozen=True, slots=True)
class Outcome:
    movements: tuple[Movement, ...]
    distribution: tuple[DraftTierCount, ...]
    benefit_changes: tuple[BenefitChange, ...]


@dataclass(frozen=True, slots=True)
class Simulation:
    members: int
    at_switch: Outcome
    settled: Outcome


def summarise(
    groups: Sequence[MemberGroup],
    *,
    draft: Sequence[TierRule],
    matrix: Mapping[str, frozenset[str]],
) -> Simulation:
    """The report from the grouped counts. ``draft`` is the validated draft ladder;
    ``matrix`` maps a tier code to the benefits its members get (codes absent: none)."""
    return Simulation(
        members=sum(g.members for g in groups),
        at_switch=_outcome(groups, draft=draft, matrix=matrix, settled=False),
        settled=_outcome(groups, draft=draft, matrix=matrix, settled=True),
    )


def _outcome(
    groups: Sequence[MemberGroup],
    *,
    draft: Sequence[TierRule],
    matrix: Mapping[str, frozenset[str]],
    settled: bool,
) -> Outcome:
    moves: dict[HeldTier, list[int]] = {}
    counts = [0] * len(draft)
    added: dict[str, int] = {}
    removed: dict[str, int] = {}
    for group in groups:
        rank = group.settled_rank if settled else group.switched_rank
        move = moves.setdefault(group.held, [0, 0, 0])
        move[0 if rank > group.held.rank else 1 if rank < group.held.rank else 2] += group.members
        counts[rank] += group.members
        before = matrix.get(group.held.code, frozenset())
        after = matrix.get(draft[rank].code, frozenset())
        for benefit in after - before:
            added[benefit] = added.get(benefit, 0) + group.members
        for benefit in before - after:
            removed[benefit] = removed.get(benefit, 0) + group.members
    return Outcome(
        movements=tuple(
            Movement(held=held, members=sum(m), promoted=m[0], demoted=m[1], unchanged=m[2])
            for held, m in sorted(moves.items(), key=lambda item: (item[0].rank, item[0].code))
        ),
        distribution=tuple(
            DraftTierCount(rank=t.rank, code=t.code, name=t.name, members=counts[t.rank])
            for t in draft
        ),
        benefit_changes=tuple(
            BenefitChange(benefit=b, added=added.get(b, 0), removed=removed.get(b, 0))
            for b in sorted(added.keys() | removed.keys())
        ),
    )
