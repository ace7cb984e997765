"""Tiers: the ladder, the periodic evaluation, threshold calibration, ladder simulation."""
