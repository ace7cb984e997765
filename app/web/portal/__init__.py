"""The member portal (/portal): the signed-in member's tier, points, tasks, badges and
boards, live."""
