"""Members: enrolment, and the reads the API answers members from."""
