"""Points: the ledger, expiry and the points flow rollup."""
