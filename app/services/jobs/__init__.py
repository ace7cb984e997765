"""Jobs: the schedule, exactly-once job runs, the embedded runner."""
