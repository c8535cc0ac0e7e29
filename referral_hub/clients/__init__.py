"""Clients of UPTD PPA units, their encrypted personal data, consent and disclosures."""
