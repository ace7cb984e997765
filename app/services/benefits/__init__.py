"""Benefits: the catalogue, the tier and season matrices, grants, birthdays."""
