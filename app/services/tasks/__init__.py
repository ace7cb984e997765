"""Growth tasks: what marketers define, and the progress members make in them."""
