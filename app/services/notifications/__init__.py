"""Notifications: the outbox and its relay, the inbox, live updates."""
