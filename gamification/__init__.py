"""Laurel's domain core: plain Python rules with no database, GraphQL or Redis imports.

Functions take what they need (including ``now``) as keyword arguments and return frozen
dataclasses, so the application layer decides when and where anything is stored.
"""
