"""Custom scalars."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import NewType

import strawberry
from strawberry.types.scalar import ScalarDefinition


def _parse_amount(value: object) -> Decimal:
    # str() first: a JSON number arrives as a float, and Decimal(499.99) is not 499.99.
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise ValueError("Amount must be a number or a numeric string")
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        raise ValueError(f"{value!r} is not an amount") from None
    if not amount.is_finite():
        raise ValueError("Amount must be finite")
    return amount


Amount = NewType("Amount", Decimal)

AmountScalar = strawberry.scalar(
    name="Amount",
    description="A money-like amount with up to 2 decimals, as a number or a string "
    '("499.99"); always returned as a string.',
    serialize=str,
    parse_value=_parse_amount,
)

# For StrawberryConfig(scalar_map=...): how the schema maps Python types to custom scalars.
SCALAR_MAP: dict[object, ScalarDefinition] = {Amount: AmountScalar}
