"""Mechanisms every domain's use cases share: the audit log, expected failures."""
