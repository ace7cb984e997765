"""Programme: the per-process catalogue snapshot, its stamp, the demo programme."""
