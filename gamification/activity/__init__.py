"""Activity: accepting reported events, the achievement engine, reversals."""
