"""What the console and the portal share: the session, CSRF, templates and charts."""
