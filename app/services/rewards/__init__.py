"""Rewards: the catalogue and redemptions."""
