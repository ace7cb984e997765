"""Shared settings of enum columns."""

# Tortoise describes an enum column by listing its members unless told otherwise. Adding a
# member then changes the description, and the migration for that change rebuilds the
# table on SQLite, losing its constraints, indexes and triggers (seen with the ledger).
# A fixed description keeps enum changes out of the migrations: they are code, not schema.
ENUM_DESCRIPTION = "values: see the enum in the model module"
