"""The OAuth error codes the hub's endpoints answer with, each a problem type of its own.

The token, revocation and introspection endpoints answer RFC 6749 5.2 errors (`error`,
`error_description`) that also carry the RFC 9457 members; their `type` is
`/problems/oauth-<code with dashes>`, documented there like every other problem type.
(The resource server's `invalid_token` and `insufficient_scope` are the problem types
`invalid-token` and `insufficient-scope`: oauth/server.py.)
"""

from __future__ import annotations

from referral_hub.problems import register_problem

#: Code -> where it comes from. Everything Authlib's server side can raise at those endpoints
#: (a test holds the list to Authlib's error classes), and the hub's own refusals there.
OAUTH_ERRORS = {
    "invalid_request": "RFC 6749 5.2",
    "invalid_client": "RFC 6749 5.2",
    "invalid_grant": "RFC 6749 5.2",
    "unauthorized_client": "RFC 6749 5.2",
    "unsupported_grant_type": "RFC 6749 5.2",
    "invalid_scope": "RFC 6749 5.2",
    "unsupported_token_type": "RFC 7009 2.2.1",
    "access_denied": "RFC 6749 4.1.2.1",
    "unsupported_response_type": "RFC 6749 4.1.2.1",
    "insecure_transport": "RFC 6749 3.1 (TLS required)",
}


def oauth_problem_slug(code: str) -> str:
    """The problem type of an OAuth error code: `invalid_grant` -> `oauth-invalid-grant`."""
    return "oauth-" + code.replace("_", "-")


def oauth_problem_title(code: str) -> str:
    return "OAuth: " + code


for _code in OAUTH_ERRORS:
    register_problem(oauth_problem_slug(_code), oauth_problem_title(_code))
