"""Notifications: the outbox and its relay, inbox housekeeping, live updates."""
