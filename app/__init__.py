"""Laurel's application layer: settings, persistence, services and the GraphQL API."""
