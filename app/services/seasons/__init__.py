"""Seasons: the catalogue of seasons and the season switch."""
