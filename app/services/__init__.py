"""Use cases: each runs the domain rules against the database inside one transaction."""
