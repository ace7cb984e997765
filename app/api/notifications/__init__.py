"""Notifications over GraphQL: live member updates."""
