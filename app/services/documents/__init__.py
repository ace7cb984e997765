"""Trusted documents: client teams' manifests."""
