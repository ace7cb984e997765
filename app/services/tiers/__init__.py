"""Tiers: the ladder and its versions, evaluation, calibration, simulation."""
