"""Analytics: programme reports, tier dynamics, engagement."""
