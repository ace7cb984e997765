"""Expected failures of a use case, raised by services and turned into typed API results."""

from __future__ import annotations

from collections.abc import Sequence

from gamification.shared.problems import Problem


class ServiceError(Exception):
    """Base class of failures a caller can act on (never a bug)."""


class InvalidInput(ServiceError):
    def __init__(self, problems: Sequence[Problem]) -> None:
        super().__init__("; ".join(f"{p.field}: {p.message}" for p in problems))
        self.problems = tuple(problems)

    @classmethod
    def single(cls, field: str, message: str) -> InvalidInput:
        return cls([Problem(field, message)])


class NotFound(ServiceError):
    def __init__(self, kind: str, key: object) -> None:
        super().__init__(f"{kind} {key} does not exist")
        self.kind = kind
        self.key = key


class IdempotencyConflict(ServiceError):
    """An idempotency key was used before for a different request."""

    def __init__(self, key: str) -> None:
        super().__init__(
            f"idempotency key {key!r} was already used for a different request; "
            "use a new key for a new request"
        )
        self.key = key


class ProgrammeNotConfigured(ServiceError):
    """No ladder version is in force yet, so members cannot be placed on a tier."""

    def __init__(self) -> None:
        super().__init__("no tier ladder is in force: publish a ladder version first")


class MemberInactive(ServiceError):
    """The member is deactivated: its events and redemptions are refused until an admin
    reactivates it."""

    def __init__(self, member_id: int) -> None:
        super().__init__(f"member {member_id} is deactivated: reactivate it first")
        self.member_id = member_id


class MemberMergedAway(ServiceError):
    """The member was merged into another (the same person enrolled twice): nothing is done
    for it any more; its external id resolves to the survivor."""

    def __init__(self, member_id: int, survivor_id: int) -> None:
        super().__init__(
            f"member {member_id} was merged into member {survivor_id}: act on the survivor"
        )
        self.member_id = member_id
        self.survivor_id = survivor_id
