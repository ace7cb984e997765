"""Activity: recording events, reversing them, importing them in bulk."""
