"""Tables no one domain owns: the audit log, and how enum columns are described."""
