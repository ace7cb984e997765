"""GraphQL types of seasons, as marketers define them."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry

from app.api.shared.errors import ForbiddenType, NotFoundType, ValidationFailed
from app.api.shared.ids import encode_id
from app.models import Season


@strawberry.type(name="Season", description="A time-boxed campaign with its own tasks.")
class SeasonType:
    id: strawberry.ID = strawberry.field(description="Opaque id of the season.")
    code: str = strawberry.field(description="Stable code, unique, e.g. double11-2026.")
    name: str = strawberry.field(description="Display name.")
    starts_at: datetime = strawberry.field(
        description="When the season starts, UTC; its benefits switch on then."
    )
    ends_at: datetime = strawberry.field(description="Exclusive: the season is over then.")
    description: str = strawberry.field(description="Text for members to read.")
    archived: bool = strawberry.field(description="True once archived: its tasks are archived too.")

    @classmethod
    def from_model(cls, season: Season) -> SeasonType:
        return cls(
            id=strawberry.ID(encode_id("Season", season.id)),
            code=season.code,
            name=season.name,
            starts_at=season.starts_at,
            ends_at=season.ends_at,
            description=season.description,
            archived=season.archived_at is not None,
        )


@strawberry.input(description="A new season.")
class CreateSeasonInput:
    code: str = strawberry.field(
        description="Stable code: 2-64 characters of lowercase letters, digits, - and _; unique."
    )
    name: str = strawberry.field(description="Display name, 1-100 characters.")
    starts_at: datetime = strawberry.field(description="When the season starts, with an offset.")
    ends_at: datetime = strawberry.field(
        description="When it ends, exclusive, with an offset; after startsAt."
    )
    description: str = strawberry.field(
        default="", description="Text for members to read, up to 2,000 characters."
    )


@strawberry.input(description="Only the fields given change.")
class UpdateSeasonInput:
    code: str | None = strawberry.field(
        default=strawberry.UNSET,
        description="Stable code: 2-64 characters of lowercase letters, digits, - and _; unique.",
    )
    name: str | None = strawberry.field(
        default=strawberry.UNSET, description="Display name, 1-100 characters."
    )
    starts_at: datetime | None = strawberry.field(
        default=strawberry.UNSET, description="When the season starts, with an offset."
    )
    ends_at: datetime | None = strawberry.field(
        default=strawberry.UNSET,
        description="When it ends, exclusive, with an offset; after startsAt.",
    )
    description: str | None = strawberry.field(
        default=strawberry.UNSET, description="Text for members to read, up to 2,000 characters."
    )


@strawberry.type(description="The season is saved (and audited).")
class SeasonSaved:
    season: SeasonType = strawberry.field(description="The season as saved.")


SeasonResult = Annotated[
    SeasonSaved | ValidationFailed | NotFoundType | ForbiddenType,
    strawberry.union(
        "SeasonResult",
        description="SeasonSaved, or: ValidationFailed (the problems listed; an archived "
        "season cannot change), NotFound (no such season), Forbidden (not a marketer or an admin).",
    ),
]
