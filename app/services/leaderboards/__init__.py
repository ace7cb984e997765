"""Leaderboards: boards, scores, the Redis index and the reads over both."""
