"""Organisations, services and the partners.yaml they are loaded from."""
