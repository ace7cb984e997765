"""The benefits catalogue, its tier and season matrices, and members' benefit grants."""
