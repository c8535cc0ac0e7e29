"""Staff accounts of organisations: roles, passwords, sign-in."""
