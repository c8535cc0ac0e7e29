"""Cases and service plans: a UPTD PPA's case file around a client, its plan and follow-ups."""
