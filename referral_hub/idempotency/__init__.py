"""Idempotency-Key on every POST under /api/v1 (IETF httpapi draft "The Idempotency-Key HTTP
Header Field"): a retried request is answered with its first response and changes nothing.

`models.py` holds the keys, `operations.py` the rules of claiming, keeping and replaying,
`hooks.py` the one request-level mechanism that applies them, and `openapi.py` documents the
header on every POST.
"""
