"""The console's GraphQL document (console.graphql beside this module), read once."""

from __future__ import annotations

from app.web.shared.pages import Operations

OPERATIONS = Operations.beside(__file__, "console.graphql")
