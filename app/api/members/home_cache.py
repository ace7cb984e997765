"""The member app's home screen (``me`` with its tier and progress), answered from memory
while nothing it shows has changed.

Executing ``Me`` costs four times what a ``{ __typename }`` does, and most of it is not
the database (one statement) but GraphQL itself completing some thirty fields. Yet what it
shows is a function of three things only:

- the member's row (every column, compared whole);
- the programme snapshot its tier and ladder come from, named by the programme stamp read
  in the same statement as the row (app/services/members/reads.py);
- the moment, through two step functions: the ladder version in force (it changes when a
  published version's effective date comes) and the next evaluation date.

So the row and the stamp are read on every request, exactly as the ``me`` resolver reads
them, and when both equal those an earlier answer was computed from, and the clock has not
crossed a step since, that answer is the answer. Anything else executes as usual (and its
answer is kept for next time). Only documents whose every field is one of those (the plain
fields of Member, Tier and TierProgress, ``tier``, ``tierProgress``, ``__typename``) under
``me`` qualify, in a query, for a member token; everything else is executed, untouched.

A field added to Member stays out until it is listed here; a field added to Tier or
TierProgress that reads anything but the snapshot and the two steps above must be listed
as a resolver (it then disqualifies the documents that select it).
"""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from graphql import (
    DocumentNode,
    ExecutionResult,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    OperationType,
    SelectionNode,
    SelectionSetNode,
    get_operation_ast,
)
from strawberry.extensions import SchemaExtension
from strawberry.schema.name_converter import NameConverter
from strawberry.types import get_object_definition
from strawberry.types.base import StrawberryObjectDefinition

from app.api.members.types import MemberType, TierProgressType
from app.api.shared.context import Context
from app.api.tiers.types import TierType
from app.auth import Role
from app.models import Member
from app.services.members.reads import MembersRead, member_by_id
from app.services.programme.snapshot import Programme
from gamification.tiers.ladder import next_evaluation_at

# Distinct (document, member) answers kept per process; a few KB each.
HOME_SCREENS_KEPT = 4096
# Distinct documents whose plan is kept (as many as the parser and validation caches).
PLANS_KEPT = 512
# The directives whose effect is decided by the document and its variables alone.
_PURE_DIRECTIVES = frozenset({"include", "skip"})


def _fields_of(definition: StrawberryObjectDefinition, names: NameConverter) -> frozenset[str]:
    """The GraphQL names of a type's fields that are plain values (no resolver)."""
    return frozenset(names.from_field(f) for f in definition.fields if f.base_resolver is None)


def answerable_fields(names: NameConverter) -> dict[str, frozenset[str]]:
    """By GraphQL type name, the fields a cached home screen may show."""
    member = get_object_definition(MemberType, strict=True)
    tier = get_object_definition(TierType, strict=True)
    progress = get_object_definition(TierProgressType, strict=True)
    return {
        member.name: _fields_of(member, names) | {"tier", "tierProgress", "__typename"},
        tier.name: _fields_of(tier, names) | {"__typename"},
        progress.name: _fields_of(progress, names) | {"__typename"},
    }


# Where a field leads, for the fields that lead to an object.
_LEADS_TO = {
    ("Member", "tier"): "Tier",
    ("Member", "tierProgress"): "TierProgress",
    ("TierProgress", "current"): "Tier",
    ("TierProgress", "next"): "Tier",
}


def _member_row(member: Member) -> tuple[object, ...]:
    return tuple(getattr(member, name) for name in Member._meta.fields_db_projection)


@dataclass(frozen=True, slots=True)
class _Answer:
    document: DocumentNode  # held, so that its id is not reused while the answer is kept
    row: tuple[object, ...]
    stamp: int
    # The moments between which the answer holds: when it was computed, and the first
    # step of the clock after that (the next evaluation, a ladder version taking effect).
    since: datetime
    until: datetime
    data: dict[str, Any]


class HomeScreens:
    """The home screens answered so far, and which documents are home screens."""

    def __init__(self, names: NameConverter) -> None:
        self._answerable = answerable_fields(names)
        self._plans: OrderedDict[tuple[int, str | None], tuple[DocumentNode, bool]] = OrderedDict()
        self._kept: OrderedDict[tuple[object, ...], _Answer] = OrderedDict()
        self.hits = self.misses = 0

    def qualifies(self, document: DocumentNode, operation_name: str | None) -> bool:
        key = (id(document), operation_name)
        found = self._plans.get(key)
        if found is None:
            found = (document, self._is_home_screen(document, operation_name))
            self._plans[key] = found
            if len(self._plans) > PLANS_KEPT:
                self._plans.popitem(last=False)
        return found[1]

    def _is_home_screen(self, document: DocumentNode, operation_name: str | None) -> bool:
        operation = get_operation_ast(document, operation_name)
        if operation is None or operation.operation is not OperationType.QUERY:
            return False
        fragments = {
            d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
        }
        return self._answers_root(operation.selection_set, fragments)

    def _answers_root(
        self, selections: SelectionSetNode, fragments: Mapping[str, FragmentDefinitionNode]
    ) -> bool:
        for selection in selections.selections:
            if not self._pure(selection):
                return False
            if isinstance(selection, FieldNode):
                name = selection.name.value
                if name == "__typename":
                    continue
                if name != "me" or selection.arguments or selection.selection_set is None:
                    return False
                if not self._answers(selection.selection_set, "Member", fragments):
                    return False
            elif not self._through_fragment(selection, "Query", fragments, root=True):
                return False
        return True

    def _answers(
        self,
        selections: SelectionSetNode,
        type_name: str,
        fragments: Mapping[str, FragmentDefinitionNode],
    ) -> bool:
        allowed = self._answerable[type_name]
        for selection in selections.selections:
            if not self._pure(selection):
                return False
            if isinstance(selection, FieldNode):
                name = selection.name.value
                if name not in allowed or selection.arguments:
                    return False
                leads_to = _LEADS_TO.get((type_name, name))
                if (leads_to is None) != (selection.selection_set is None):
                    return False
                if leads_to is not None and selection.selection_set is not None:
                    if not self._answers(selection.selection_set, leads_to, fragments):
                        return False
            elif not self._through_fragment(selection, type_name, fragments, root=False):
                return False
        return True

    def _through_fragment(
        self,
        selection: SelectionNode,
        type_name: str,
        fragments: Mapping[str, FragmentDefinitionNode],
        *,
        root: bool,
    ) -> bool:
        if isinstance(selection, FragmentSpreadNode):
            fragment = fragments.get(selection.name.value)
            if fragment is None or not self._pure(fragment):
                return False
            condition: str | None = fragment.type_condition.name.value
            selections = fragment.selection_set
        elif isinstance(selection, InlineFragmentNode):
            condition = selection.type_condition.name.value if selection.type_condition else None
            selections = selection.selection_set
        else:
            return False  # not a fragment: callers answer fields themselves
        if condition not in (None, type_name):
            return False  # an interface or another type: not worth reasoning about
        if root:
            return self._answers_root(selections, fragments)
        return self._answers(selections, type_name, fragments)

    @staticmethod
    def _pure(node: Any) -> bool:
        return all(d.name.value in _PURE_DIRECTIVES for d in node.directives or ())

    def key(
        self,
        document: DocumentNode,
        operation_name: str | None,
        variables: dict[str, Any] | None,
        member_id: int,
    ) -> tuple[object, ...] | None:
        try:
            given = json.dumps(variables, sort_keys=True) if variables else ""
        except (TypeError, ValueError):
            return None
        return (id(document), operation_name, given, member_id)

    def get(self, key: tuple[object, ...], found: MembersRead, now: datetime) -> Any:
        answer = self._kept.get(key)
        if (
            answer is not None
            and found.stamp == answer.stamp
            and len(found.members) == 1
            and _member_row(found.members[0]) == answer.row
            and answer.since <= now < answer.until
        ):
            self.hits += 1
            self._kept.move_to_end(key)
            return answer.data
        self.misses += 1
        return None

    def put(
        self,
        key: tuple[object, ...],
        *,
        document: DocumentNode,
        found: MembersRead,
        programme: Programme,
        context: Context,
        data: dict[str, Any],
    ) -> None:
        if found.stamp is None or len(found.members) != 1 or programme.stamp != found.stamp:
            return  # (a snapshot newer than the row's stamp: right now, not worth keeping)
        now = context.now
        steps = [
            next_evaluation_at(
                now=now,
                zone=context.settings.zone,
                day_of_month=context.settings.evaluation_day_of_month,
            ),
            *(ladder.effective_at for ladder in programme.ladders if ladder.effective_at > now),
        ]
        self._kept[key] = _Answer(
            document=document,
            row=_member_row(found.members[0]),
            stamp=found.stamp,
            since=now,
            until=min(steps),
            data=data,
        )
        if len(self._kept) > HOME_SCREENS_KEPT:
            self._kept.popitem(last=False)


class CachedHomeScreen(SchemaExtension):
    """Answers a home-screen query from :class:`HomeScreens` when it can (pass it as a
    factory: ``lambda: CachedHomeScreen(screens)``)."""

    def __init__(self, screens: HomeScreens) -> None:
        self.screens = screens

    async def on_execute(self) -> AsyncIterator[None]:
        execution = self.execution_context
        context, document = execution.context, execution.graphql_document
        principal = getattr(context, "principal", None)
        if (
            not isinstance(context, Context)
            or document is None
            or principal is None
            or principal.role is not Role.MEMBER
            or principal.member_id is None
            or not self.screens.qualifies(document, execution.operation_name)
        ):
            yield
            return
        key = self.screens.key(
            document, execution.operation_name, execution.variables, principal.member_id
        )
        try:
            found = await member_by_id(principal.member_id)
        except Exception:
            # Let the resolver read it and fail as a field does, with a path.
            yield
            return
        # The resolver takes this read rather than sending the same statement again.
        context.me_read = found
        data = self.screens.get(key, found, context.now) if key is not None else None
        if data is not None:
            execution.result = ExecutionResult(data=data)
            yield
            return
        yield
        result = execution.result
        if (
            key is not None
            and isinstance(result, ExecutionResult)
            and not result.errors
            and result.data is not None
            and found.stamp is not None
        ):
            self.screens.put(
                key,
                document=document,
                found=found,
                programme=await context.programme.at(found.stamp),
                context=context,
                data=result.data,
            )
