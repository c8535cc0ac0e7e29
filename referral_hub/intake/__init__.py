"""Intake: reports of violence that reach a UPTD PPA from community channels (API.md)."""
