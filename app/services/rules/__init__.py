"""Earning rules: the catalogue of rules and their versions, and their budgets."""
