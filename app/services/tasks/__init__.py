"""Growth tasks: what marketers define."""
