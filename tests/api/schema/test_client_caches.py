"""Client caches can normalise the schema: entities carry ids, value objects do not.

``docs/api/client-caches.md`` lists every object type as an entity or a value object; this
walks ``graphql/schema.graphql`` and the client operations against that list.
"""

from __future__ import annotations

import re
from pathlib import Path

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLInterfaceType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    SelectionSetNode,
    TypeInfo,
    TypeInfoVisitor,
    Visitor,
    build_schema,
    get_named_type,
    parse,
    visit,
)

from tests.operations import OPERATIONS_DIR

ROOT = Path(__file__).resolve().parents[3]
DOC = ROOT / "docs" / "api" / "client-caches.md"
ROOTS = {"Query", "Mutation", "Subscription"}
# Value objects whose `id` names something else (the missing thing), as the doc says.
NOT_THEIR_OWN_ID = {"NotFound"}


def schema() -> GraphQLSchema:
    return build_schema((ROOT / "graphql" / "schema.graphql").read_text())


def listed(section: str) -> set[str]:
    """The type names written in backticks in a section (``## <section>…``) of the doc."""
    text = DOC.read_text()
    match = re.search(rf"^## {section}.*?$(.*?)(?=^## |\Z)", text, re.M | re.S)
    assert match, f"{DOC.name} has no section {section!r}"
    return set(re.findall(r"`([A-Z][A-Za-z]+)`", match.group(1)))


def object_types(s: GraphQLSchema) -> dict[str, GraphQLObjectType]:
    return {
        name: t
        for name, t in s.type_map.items()
        if isinstance(t, GraphQLObjectType) and not name.startswith("__") and name not in ROOTS
    }


def test_every_object_type_is_an_entity_with_an_id_or_a_listed_value_object():
    types = object_types(schema())
    entities, values = listed("Entities"), listed("Value objects")

    assert entities & values == set(), "listed as both"
    assert (entities | values) - set(types) == set(), "listed but not in the schema"
    assert set(types) - entities - values == set(), "neither an entity nor a value object"
    for name in sorted(entities):
        id_field = types[name].fields.get("id")
        assert id_field is not None, f"entity {name} has no id"
        assert isinstance(id_field.type, GraphQLNonNull), f"{name}.id is nullable"
        assert get_named_type(id_field.type).name == "ID", f"{name}.id is not an ID"
    for name in sorted(values - NOT_THEIR_OWN_ID):
        assert "id" not in types[name].fields, f"value object {name} has an id: an entity?"


def _selected(
    selections: SelectionSetNode,
    type_name: str,
    fragments: dict[str, FragmentDefinitionNode],
    applies: set[str],
) -> set[str]:
    """The field names a selection set selects on an object of ``type_name`` (through
    fragments on the type or on ``applies``, its interfaces)."""
    found: set[str] = set()
    for selection in selections.selections:
        if isinstance(selection, FieldNode):
            found.add(selection.name.value)
        elif isinstance(selection, InlineFragmentNode):
            condition = selection.type_condition
            if condition is None or condition.name.value in applies | {type_name}:
                found |= _selected(selection.selection_set, type_name, fragments, applies)
        elif isinstance(selection, FragmentSpreadNode):
            fragment = fragments[selection.name.value]
            if fragment.type_condition.name.value in applies | {type_name}:
                found |= _selected(fragment.selection_set, type_name, fragments, applies)
    return found


def _conditions(selections: SelectionSetNode, fragments: dict[str, FragmentDefinitionNode]):
    """The type conditions of the fragments directly inside a selection set."""
    for selection in selections.selections:
        if isinstance(selection, InlineFragmentNode) and selection.type_condition:
            yield selection.type_condition.name.value
        elif isinstance(selection, FragmentSpreadNode):
            yield fragments[selection.name.value].type_condition.name.value


class EntitiesWithoutId(Visitor):
    """Collects the fields of a document that select an entity without its id."""

    def __init__(self, s: GraphQLSchema, info: TypeInfo, document: DocumentNode) -> None:
        super().__init__()
        self.schema, self.info = s, info
        self.entities = listed("Entities")
        self.fragments = {
            d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
        }
        self.missing: list[str] = []

    def enter_field(self, node: FieldNode, *_args: object) -> None:
        if node.selection_set is None:
            return
        named = get_named_type(self.info.get_type())
        if named is None:
            return  # not valid against the schema: test_contract says so
        if isinstance(named, GraphQLObjectType):
            candidates = [named.name] if named.name in self.entities else []
        else:  # a union or an interface: the entity types its fragments name
            conditions = _conditions(node.selection_set, self.fragments)
            candidates = [c for c in conditions if c in self.entities]
        for name in candidates:
            target = self.schema.get_type(name)
            assert isinstance(target, GraphQLObjectType)
            applies = {i.name for i in target.interfaces}
            if isinstance(named, GraphQLInterfaceType):
                applies.add(named.name)
            if "id" not in _selected(node.selection_set, name, self.fragments, applies):
                self.missing.append(f"{node.name.value} ({name})")


def test_the_client_operations_select_the_id_of_every_entity_they_select():
    s = schema()
    missing = []
    for path in sorted(OPERATIONS_DIR.glob("*.graphql")):
        document = parse(path.read_text())
        info = TypeInfo(s)
        check = EntitiesWithoutId(s, info, document)
        visit(document, TypeInfoVisitor(info, check))
        missing += [f"{path.name}: {field}" for field in check.missing]
    assert missing == [], "entities selected without their id"
