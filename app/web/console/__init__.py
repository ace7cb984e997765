"""The marketer console (/console): the programme at a glance, seasons, members, the
audit log."""
