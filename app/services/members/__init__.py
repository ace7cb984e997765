"""Members: enrolment, the reads the API answers from, their own progress."""
