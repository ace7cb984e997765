"""Badges: what marketers define, and the progress members make towards them."""
