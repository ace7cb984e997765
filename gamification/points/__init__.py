"""Points: the ledger's rules and an admin's manual adjustments."""
