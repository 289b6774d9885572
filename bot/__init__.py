"""Between-session check-ins for mentees on probation and their peer mentors."""
