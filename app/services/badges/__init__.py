"""Badges: what marketers define."""
