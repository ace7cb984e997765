"""The contract documents itself: every type, field, argument, input field and enum value of
the schema has a description, so GraphiQL's docs and generated clients say what each means."""

from __future__ import annotations

from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLSchema,
    build_schema,
)
from graphql.type import introspection_types, specified_scalar_types

from app.api.schema import schema


def undescribed(graphql_schema: GraphQLSchema) -> list[str]:
    """Every schema element without a description, by its coordinate (``Type.field(arg)``);
    introspection types and the five standard scalars are the specification's, not ours."""
    missing: list[str] = []
    for name, type_ in sorted(graphql_schema.type_map.items()):
        if name in introspection_types or name in specified_scalar_types:
            continue
        if not (type_.description or "").strip():
            missing.append(name)
        if isinstance(type_, GraphQLObjectType | GraphQLInterfaceType):
            for field_name, field in type_.fields.items():
                if not (field.description or "").strip():
                    missing.append(f"{name}.{field_name}")
                for arg_name, arg in field.args.items():
                    if not (arg.description or "").strip():
                        missing.append(f"{name}.{field_name}({arg_name}:)")
        elif isinstance(type_, GraphQLInputObjectType):
            for field_name, input_field in type_.fields.items():
                if not (input_field.description or "").strip():
                    missing.append(f"{name}.{field_name}")
        elif isinstance(type_, GraphQLEnumType):
            for value_name, value in type_.values.items():
                if not (value.description or "").strip():
                    missing.append(f"{name}.{value_name}")
    return missing


def test_every_type_field_argument_and_enum_value_is_described():
    assert undescribed(schema._schema) == [], (
        "describe these in the strawberry definitions (description=...), then `make schema`"
    )


def test_the_check_finds_each_kind_of_undescribed_element():
    # Given a schema with one undescribed element of every kind, and described ones beside
    sdl = '''
        """Described."""
        type Query {
          """Described."""
          bare(
            """Described."""
            ok: Int
            plain: Int
          ): Plain
          plainField: Int
        }
        type Plain { x: Int }
        """Described."""
        input Filter {
          """Described."""
          ok: Int
          plain: Int
        }
        """Described."""
        enum Colour {
          """Described."""
          RED
          GREEN
        }
        union Either = Plain
        scalar Stamp
        """Described."""
        type Mutation {
          """Described."""
          use(
            """Described."""
            filter: Filter
            """Described."""
            colour: Colour
            """Described."""
            stamp: Stamp
          ): Either
        }
    '''
    # When the check runs, then it names each one and nothing else
    assert undescribed(build_schema(sdl)) == [
        "Colour.GREEN",
        "Either",
        "Filter.plain",
        "Plain",
        "Plain.x",
        "Query.bare(plain:)",
        "Query.plainField",
        "Stamp",
    ]
