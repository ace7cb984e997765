"""What members hold: benefits granted by their tier and by running seasons, announced to
them, listed, and used."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, NamedTuple

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from app.db import sql
from app.models import Benefit, BenefitGrant, OutboxMessage, SeasonalBenefit
from app.services.notifications.outbox import outbox_written
from app.services.shared.errors import InvalidInput, NotFound
from gamification.benefits import (
    UNUSABLE_MESSAGES,
    GrantSource,
    GrantStatus,
    Unusable,
    why_unusable,
)
from gamification.shared.problems import Problem


class BenefitUnusable(InvalidInput):
    """The grant is the member's but cannot be used now (used, expired, not yet valid)."""

    def __init__(self, reason: Unusable) -> None:
        super().__init__([Problem("grantId", UNUSABLE_MESSAGES[reason])])
        self.reason = reason


async def grant_tier_benefits(
    conn: BaseDBAsyncClient,
    *,
    member_id: int,
    tier_code: str,
    now: datetime,
    stay: int | None = None,
) -> int:
    """Grant a member every live benefit of a tier, from ``now`` until withdrawn, in the
    caller's transaction; returns how many grants were made.

    A member's first grant of a benefit for a tier has the tier code as its ``source_ref``.
    A member who comes back to the tier (``stay``: the id of the tier change that brought
    them) gets a new grant, ``<code>@<stay>``, for each benefit of the tier they no longer
    hold: the grants of the earlier stay keep their history (used, expired). A grant still
    running out after a demotion (``LAUREL_DEMOTED_BENEFITS_KEEP_DAYS``) runs on instead:
    its end is lifted. The unique (member, benefit, source, source_ref) makes a retry grant
    nothing more.
    """
    source = GrantSource.TIER.value
    active = GrantStatus.ACTIVE.value
    again = f"{tier_code}@{stay}" if stay is not None else tier_code
    # The member's grants for this tier, of any stay.
    of_tier = "g.source = ? AND (g.source_ref = ? OR substr(g.source_ref, 1, ?) = ?)"
    of_tier_params = [source, tier_code, len(tier_code) + 1, f"{tier_code}@"]
    await conn.execute_query(
        sql(
            conn,
            "UPDATE benefit_grant SET valid_to = NULL WHERE id IN ("
            f"SELECT g.id FROM benefit_grant g WHERE g.member_id = ? AND {of_tier} "
            "AND g.status = ? AND g.valid_to IS NOT NULL AND g.valid_to > ?)",
        ),
        [member_id, *of_tier_params, active, now],
    )
    params = [
        member_id,
        source,
        member_id,
        *of_tier_params,
        again,
        tier_code,
        now,
        active,
        tier_code,
        tier_code,
        member_id,
        *of_tier_params,
        active,
        now,
    ]
    # SQLite needs the WHERE before ON CONFLICT to tell the upsert from a join condition.
    # RETURNING counts the grants: tortoise's asyncpg execute_query reports the OID field
    # of "INSERT 0 n" as the row count, so it always says 0 for an INSERT.
    rows = await conn.execute_query_dict(
        sql(
            conn,
            "INSERT INTO benefit_grant "
            "(member_id, source, source_ref, valid_from, status, tier_code, benefit_id) "
            "SELECT ?, ?, CASE WHEN EXISTS (SELECT 1 FROM benefit_grant g "
            f"  WHERE g.member_id = ? AND g.benefit_id = tb.benefit_id AND {of_tier}) "
            "  THEN ? ELSE ? END, ?, ?, ?, tb.benefit_id "
            "FROM tier_benefit tb JOIN benefit b ON b.id = tb.benefit_id "
            "WHERE tb.tier_code = ? AND b.archived_at IS NULL "
            "AND NOT EXISTS (SELECT 1 FROM benefit_grant g "
            f"  WHERE g.member_id = ? AND g.benefit_id = tb.benefit_id AND {of_tier} "
            "  AND g.status = ? AND (g.valid_to IS NULL OR g.valid_to > ?)) "
            "ON CONFLICT (member_id, benefit_id, source, source_ref) DO NOTHING "
            "RETURNING id, benefit_id",
        ),
        params,
    )
    if rows:
        granted = {
            b.id: b
            for b in await Benefit.filter(id__in=[r["benefit_id"] for r in rows]).using_db(conn)
        }
        await announce_grants(
            conn,
            member_id=member_id,
            grants=[(r["id"], granted[r["benefit_id"]]) for r in rows],
            source=GrantSource.TIER,
            now=now,
        )
    return len(rows)


async def grant_running_season_benefits(
    conn: BaseDBAsyncClient, *, member_id: int, tier_code: str, now: datetime
) -> int:
    """Grant a member, in the caller's transaction, every benefit of the seasons running at
    ``now`` that names ``tier_code`` (a promotion mid-season). The unique key skips what
    the member already holds, so the season job and this never grant one twice. The grants
    made are announced to the member (``benefits.granted``). Returns how many were made.
    """
    rows = (
        await SeasonalBenefit.filter(
            season__starts_at__lte=now,
            season__ends_at__gt=now,
            season__archived_at__isnull=True,
            benefit__archived_at__isnull=True,
        )
        .using_db(conn)
        .select_related("season", "benefit")
    )
    wanted = [r for r in rows if tier_code in r.tier_codes]
    if not wanted:
        return 0
    postgres = conn.capabilities.dialect == "postgres"
    values: list[Any] = []
    tuples = []
    for row in wanted:
        base = len(values)
        values += [
            member_id,
            row.benefit_id,
            GrantSource.SEASON.value,
            str(row.season_id),
            row.season.starts_at,
            row.season.ends_at,
            GrantStatus.ACTIVE.value,
            tier_code,
        ]
        marks = [f"${base + n}" if postgres else "?" for n in range(1, 9)]
        tuples.append(f"({', '.join(marks)})")
    made = await conn.execute_query_dict(
        "INSERT INTO benefit_grant "
        "(member_id, benefit_id, source, source_ref, valid_from, valid_to, status, tier_code) "
        f"VALUES {', '.join(tuples)} "
        "ON CONFLICT (member_id, benefit_id, source, source_ref) DO NOTHING "
        "RETURNING id, benefit_id",
        values,
    )
    if made:
        benefits = {r.benefit_id: r.benefit for r in wanted}
        await announce_grants(
            conn,
            member_id=member_id,
            grants=[(r["id"], benefits[r["benefit_id"]]) for r in made],
            source=GrantSource.SEASON,
            now=now,
        )
    return len(made)


async def announce_grants(
    conn: BaseDBAsyncClient,
    *,
    member_id: int,
    grants: Sequence[tuple[int, Benefit]],
    source: GrantSource,
    now: datetime,
) -> None:
    """Tell the member of grants just made (one ``benefits.granted`` outbox row, pushed as
    ``BenefitGranted`` updates), in the transaction that made them."""
    await OutboxMessage.create(
        topic="benefits.granted",
        payload={
            "member_id": member_id,
            "grants": [
                {
                    "grant_id": grant_id,
                    "code": benefit.code,
                    "name": benefit.name,
                    "kind": benefit.kind.value,
                    "source": source.value,
                }
                for grant_id, benefit in grants
            ],
        },
        created_at=now,
        using_db=conn,
    )


async def announce_revocations(
    conn: BaseDBAsyncClient,
    *,
    revoked: Sequence[dict[str, Any]],
    reason: str,
    valid_to: datetime,
    now: datetime,
) -> None:
    """Tell the brand's systems of grants just switched off (``revoked``: rows with
    ``id``, ``member_id``, ``benefit_id`` and ``source``, as an UPDATE … RETURNING gives
    them), in the transaction that switched them off: one ``benefits.revoked`` outbox row
    for the whole batch, whatever its size (the webhook ``benefit.revoked``, one per
    grant). ``reason``: ``demotion`` or ``season_ended``."""
    if not revoked:
        return
    ids = {int(r["benefit_id"]) for r in revoked}
    benefits = {b.id: b for b in await Benefit.filter(id__in=ids).using_db(conn)}
    await OutboxMessage.create(
        topic="benefits.revoked",
        payload={
            "reason": reason,
            "grants": [
                {
                    "member_id": int(r["member_id"]),
                    "grant_id": int(r["id"]),
                    "code": benefits[int(r["benefit_id"])].code,
                    "name": benefits[int(r["benefit_id"])].name,
                    "kind": benefits[int(r["benefit_id"])].kind.value,
                    "source": r["source"],
                    "validTo": valid_to.isoformat(),
                }
                for r in sorted(revoked, key=lambda r: (int(r["member_id"]), int(r["id"])))
            ],
        },
        created_at=now,
        using_db=conn,
    )


class MemberGrants(NamedTuple):
    """Which grants of a member to read: those of one status (as members see it), or all."""

    member_id: int
    status: GrantStatus | None


async def grants_by_member(
    *, keys: Sequence[MemberGrants], now: datetime
) -> dict[MemberGrants, list[BenefitGrant]]:
    """The grants each key asks for, with their benefits: one statement per status asked
    for, however many members. An active grant past its end counts as expired."""
    found: dict[MemberGrants, list[BenefitGrant]] = {k: [] for k in keys}
    by_status: dict[GrantStatus | None, list[int]] = {}
    for key in keys:
        by_status.setdefault(key.status, []).append(key.member_id)
    for status, member_ids in by_status.items():
        query = BenefitGrant.filter(member_id__in=member_ids)
        not_ended = Q(valid_to__isnull=True) | Q(valid_to__gt=now)
        if status is GrantStatus.ACTIVE:
            query = query.filter(not_ended, status=GrantStatus.ACTIVE)
        elif status is GrantStatus.EXPIRED:
            query = query.filter(
                Q(status=GrantStatus.EXPIRED) | Q(status=GrantStatus.ACTIVE, valid_to__lte=now)
            )
        elif status is not None:
            query = query.filter(status=status)
        rows = await query.select_related("benefit").order_by("valid_from", "id")
        for row in rows:
            found[MemberGrants(row.member_id, status)].append(row)
    return found


async def use_benefit(*, member_id: int, grant_id: int, now: datetime) -> BenefitGrant:
    """Use a grant of the member's, once.

    One conditional UPDATE (the member's, active, valid at ``now`` -> used): two
    concurrent uses cannot both match it. When it matches nothing, the grant is read to
    say why: NotFound when it is not the member's (another member's grant is not told
    apart from a missing one), BenefitUnusable otherwise. An outbox message tells the
    brand's systems to apply the benefit.
    """
    async with in_transaction() as conn:
        used = (
            await BenefitGrant.filter(
                Q(valid_to__isnull=True) | Q(valid_to__gt=now),
                id=grant_id,
                member_id=member_id,
                status=GrantStatus.ACTIVE,
                valid_from__lte=now,
            )
            .using_db(conn)
            .update(status=GrantStatus.USED, used_at=now)
        )
        grant = (
            await BenefitGrant.filter(id=grant_id, member_id=member_id)
            .using_db(conn)
            .select_related("benefit")
            .first()
        )
        if grant is None:
            raise NotFound("BenefitGrant", grant_id)
        if not used:
            reason = why_unusable(
                grant.status, valid_from=grant.valid_from, valid_to=grant.valid_to, now=now
            )
            # Matching nothing means one of the reasons holds; USED covers a lost race.
            raise BenefitUnusable(reason or Unusable.USED)
        await OutboxMessage.create(
            topic="benefit.used",
            payload={
                "member_id": member_id,
                "grant_id": grant.id,
                "benefit_code": grant.benefit.code,
                "kind": grant.benefit.kind.value,
                "value": grant.benefit.value,
            },
            created_at=now,
            using_db=conn,
        )
    outbox_written()
    return grant
