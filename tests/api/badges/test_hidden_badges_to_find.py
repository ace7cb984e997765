"""``Member.hiddenBadgesToFind``: how many hidden badges a member has yet to earn, naming
none of them."""

from __future__ import annotations

from app.api.shared.ids import encode_id
from app.auth import Role
from app.models import MemberBadge
from tests import factories
from tests.factories import graphql

QUERY = "query($id: ID!) { member(id: $id) { hiddenBadgesToFind badges { code } } }"


async def test_hidden_badges_are_counted_until_earned(client_as):
    ada = await factories.member()
    bob = await factories.member()
    found = await factories.badge(code="found", hidden=True)
    await factories.badge(code="still-hidden", hidden=True)
    await factories.badge(code="open", hidden=False)
    await MemberBadge.create(
        member_id=ada.id, badge_id=found.id, level=1, earned_at=factories.now()
    )
    staff = await client_as(Role.MARKETER)

    seen = {
        member.external_id: (await graphql(staff, QUERY, {"id": encode_id("Member", member.id)}))[
            "data"
        ]["member"]
        for member in (ada, bob)
    }

    assert seen[ada.external_id]["hiddenBadgesToFind"] == 1
    assert seen[bob.external_id]["hiddenBadgesToFind"] == 2
    assert "still-hidden" not in str(seen)


async def test_a_member_reads_its_own_count_only(client_as):
    ada = await factories.member()
    bob = await factories.member()
    as_ada = await client_as(Role.MEMBER, ada)

    own = await graphql(as_ada, QUERY, {"id": encode_id("Member", ada.id)})
    other = await graphql(as_ada, QUERY, {"id": encode_id("Member", bob.id)})

    assert own["data"]["member"]["hiddenBadgesToFind"] == 0
    assert other["errors"][0]["extensions"]["code"] == "FORBIDDEN"
