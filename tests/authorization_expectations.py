"""Who may call what: one entry per endpoint of the app's URL map, read by a reviewer.

The callers (tests/functional/test_authorization_matrix.py builds them):

- API routes (and the OAuth endpoints): no token; a PPU token with each single scope (a
  wrong scope must give 403 insufficient_scope; the right one behaves like PPU's full
  token); a token with all scopes of PPU (the UPTD that owns the client and sends the
  referral), Balikpapan (the recipient UPTD, party to the agreement), Polres PPU (a partner
  agency that is no party), DP3A Kaltim (the hub operator) and Bontang (an outsider UPTD);
  and a signed-in portal session without a token (the API ignores cookies: 401).
- Portal pages: nobody signed in (302 to /login); a user of each role
  (caseworker, supervisor, org_admin, auditor) of PPU, Balikpapan, Polres PPU and
  DP3A Kaltim; and a bearer token without a session (the portal ignores it: as anonymous).

Organisation kinds: ppu, bpp, polres, op, bontang.
"""

from __future__ import annotations

from dataclasses import dataclass, field

ROLES = ("caseworker", "supervisor", "org_admin", "auditor")
STAFF = frozenset({"caseworker", "supervisor"})
ADMIN = frozenset({"org_admin"})
WRITERS = frozenset({"org_admin", "supervisor"})
AUDIT_READERS = frozenset({"auditor", "org_admin"})
READERS = frozenset(ROLES)  # agreements:read: every role
REPORT_READERS = frozenset({"supervisor", "org_admin", "auditor"})  # reports:read
API_KINDS = ("ppu", "bpp", "polres", "op", "bontang")
PORTAL_KINDS = ("ppu", "bpp", "polres", "op")
UPTDS = frozenset({"ppu", "bpp"})
RECEIVERS = frozenset({"ppu", "bpp", "polres"})  # every kind that can be a recipient
ALL_KINDS = frozenset(PORTAL_KINDS)

Codes = frozenset[int]


def codes(*values: int) -> Codes:
    return frozenset(values)


OK = codes(200)
CREATED = codes(201)
NO_CONTENT = codes(204)
REDIRECT = codes(302)
HIDDEN = codes(404)
FORBIDDEN = codes(403)
#: A portal form POSTed with only its CSRF token: the form comes back (200), with its
#: errors (422), or, for an action button, the action is done and the page redirects (302).
#: Every gate runs before the form is read, so a refused user gets 403/404, never 422.
FORM = codes(200, 302, 422)


@dataclass(frozen=True)
class Api:
    """A bearer-token route: the scope it needs, and what each organisation's token gets."""

    scope: str
    outcomes: dict[str, Codes]
    why: str


@dataclass(frozen=True)
class Open:
    """A route anyone may call, with or without a token or a session."""

    outcome: Codes
    why: str
    #: codes for callers with a session or a token, where they differ from anonymous
    signed_in: Codes | None = None


@dataclass(frozen=True)
class Page:
    """A portal page: who passes its gate and what they get; every other user gets 403."""

    roles: frozenset[str]
    kinds: frozenset[str]
    ok: Codes
    why: str
    #: (kind, role) -> codes, where a user passes the gate but the object is not theirs
    exceptions: dict[tuple[str, str], Codes] = field(default_factory=dict)

    def expected(self, kind: str, role: str) -> Codes:
        if (kind, role) in self.exceptions:
            return self.exceptions[(kind, role)]
        if role in self.roles and kind in self.kinds:
            return self.ok
        return FORBIDDEN


def api(scope: str, why: str, default: Codes = HIDDEN, **per_kind: Codes) -> Api:
    """An API entry: `default` for every organisation kind not named."""
    unknown = set(per_kind) - set(API_KINDS)
    assert not unknown, unknown
    return Api(scope, {kind: per_kind.get(kind, default) for kind in API_KINDS}, why)


def page(
    roles: frozenset[str], kinds: frozenset[str], ok: Codes, why: str, **exceptions: Codes
) -> Page:
    """A page entry; exceptions are named kind__role, e.g. bpp__caseworker=HIDDEN."""
    parsed = {tuple(name.split("__")): value for name, value in exceptions.items()}
    return Page(roles, kinds, ok, why, parsed)  # type: ignore[arg-type]


def staff_of(kinds: frozenset[str], value: Codes) -> dict[str, Codes]:
    """Exceptions for the caseworkers and supervisors of some kinds."""
    return {f"{kind}__{role}": value for kind in kinds for role in STAFF}


NOT_UPTD = codes(403)  # a partner agency or the hub operator: problem not-a-uptd

#: endpoint -> expectation; an endpoint with methods that differ maps method -> expectation.
EXPECTATIONS: dict[str, object] = {
    # --- public ---------------------------------------------------------------------
    "static": Open(OK, "stylesheets and scripts"),
    "health.healthz": Open(OK, "load balancer probe"),
    "api-docs.openapi_json": Open(OK, "the published contract"),
    "portal.api_docs": Open(OK, "the developer guide's start page"),
    "portal.problem_doc": Open(OK, "problem type documentation (the `type` URIs)"),
    "portal.guide_page": Open(OK, "a page of the developer guide"),
    "portal.problem_index": Open(OK, "the list of problem types"),
    "portal.set_language": Open(REDIRECT, "language switch, before or after sign-in"),
    "oauth.metadata": Open(OK, "RFC 8414 authorization server metadata"),
    "accounts.login": {
        "GET": Open(OK, "the sign-in form", signed_in=REDIRECT),
        # Without credentials the form comes back with an error; CSRF is sent by the matrix.
        "POST": Open(codes(422), "a sign-in with no credentials: the form again, with errors"),
    },
    "accounts.logout": Open(REDIRECT, "sign-out is harmless for anyone"),
    # An invitation's link: an unknown token is 404 for everyone (the path's is made up).
    "accounts.invitation": Open(HIDDEN, "an invitation link the hub never issued"),
    # The second step of an org_admin's or auditor's sign-in: only a session that has just
    # passed the password gets the form; everyone else is sent back to /login.
    "accounts.second_factor": Open(REDIRECT, "no password given in this session: to /login"),
    "accounts.enrol_totp": Open(REDIRECT, "no password given in this session: to /login"),
    # --- OAuth endpoints: client authentication, never a bearer token --------------
    "oauth.issue_token": Open(codes(400, 401), "no client credentials: invalid_client"),
    "oauth.introspect_token": Open(codes(401), "no client credentials"),
    "oauth.revoke_token": Open(codes(401), "no client credentials"),
    "oauth.authorize": Open(
        codes(302),
        "anonymous: to /login; signed in, without client_id: 400 (no client to redirect to)",
        signed_in=codes(400),
    ),
    # --- directory ---------------------------------------------------------------------
    "directory.list_organizations": api("directory:read", "public directory", OK),
    "directory.get_one_organization": api("directory:read", "public directory", OK),
    "directory.list_services": api("directory:read", "public directory", OK),
    "directory.list_regions": api("directory:read", "Kemendagri regions, reference data", OK),
    # Adding partners: the hub operator's and UPTDs' admins (a token of Polres is refused).
    "directory.create_one_organization": api(
        "directory:write",
        "the hub operator and UPTDs add partners",
        CREATED,
        polres=FORBIDDEN,
    ),
    # PPU's own entry: its own admin and the hub operator's (the path names PPU).
    "directory.update_one_organization": api(
        "directory:write", "its own admin or the hub operator's", FORBIDDEN, ppu=OK, op=OK
    ),
    # Inviting into PPU: its own admin and the hub operator; Balikpapan shares an agreement
    # with PPU, but PPU has an admin of its own (409 partner-has-admin).
    "directory.invite": api(
        "directory:write",
        "PPU itself, the hub operator; a UPTD with an agreement only for a first admin",
        FORBIDDEN,
        ppu=CREATED,
        op=CREATED,
        bpp=codes(409),
    ),
    "directory.list_invitations": api(
        "directory:write",
        "whoever may invite into PPU",
        FORBIDDEN,
        ppu=OK,
        op=OK,
        bpp=OK,
    ),
    "directory.revoke_one_invitation": api(
        "directory:write",
        "PPU's invitation: PPU and the hub operator revoke it; Balikpapan sees only its own",
        FORBIDDEN,
        ppu=OK,
        op=OK,
        bpp=HIDDEN,
    ),
    # --- the directory as HSDS 3.0 (the path names PPU's HSDS id and a service of it) ---------
    "hsds.hsds_meta": api("directory:read", "public directory, HSDS 3.0", OK),
    "hsds.hsds_list_organizations": api("directory:read", "public directory, HSDS 3.0", OK),
    "hsds.hsds_get_organization": api("directory:read", "public directory, HSDS 3.0", OK),
    "hsds.hsds_list_services": api("directory:read", "public directory, HSDS 3.0", OK),
    "hsds.hsds_get_service": api("directory:read", "public directory, HSDS 3.0", OK),
    # --- agreements ----------------------------------------------------------------------
    "agreements.list_agreements": api("agreements:read", "own agreements only", OK),
    "agreements.export_agreements": api("agreements:read", "own agreements only", OK),
    "agreements.export_agreements_xlsx": api("agreements:read", "own agreements only", OK),
    # --- reports: each organisation its own figures (the operator every unit's) -------------
    "reports.get_report": api("reports:read", "own figures; small counts hidden", OK),
    "agreements.get_agreement": api(
        "agreements:read", "parties and the hub operator", HIDDEN, ppu=OK, bpp=OK, op=OK
    ),
    "agreements.agreement_history": api(
        "agreements:read", "parties and the hub operator", HIDDEN, ppu=OK, bpp=OK, op=OK
    ),
    "agreements.download_document": api(
        "agreements:read", "parties and the hub operator", HIDDEN, ppu=OK, bpp=OK, op=OK
    ),
    "agreements.create_agreement": api(
        "agreements:write",
        "a party drafts; a non-party cannot draft for others; the operator does not sign",
        codes(403, 422),
        ppu=CREATED,
        bpp=CREATED,
    ),
    "agreements.update_agreement": api(
        "agreements:write", "parties edit a draft", HIDDEN, ppu=OK, bpp=OK, op=codes(403, 404)
    ),
    "agreements.upload_document": api(
        "agreements:write",
        "parties attach documents",
        HIDDEN,
        ppu=CREATED,
        bpp=CREATED,
        op=codes(403, 404),
    ),
    **{
        f"agreements.{action}_agreement": api(
            "agreements:write",
            f"a party may {action}",
            HIDDEN,
            ppu=OK,
            bpp=OK,
            op=codes(403, 404),
        )
        for action in ("sign", "suspend", "resume", "terminate")
    },
    "agreements.renew_agreement": api(
        "agreements:write",
        "a party renews: the successor draft",
        HIDDEN,
        ppu=CREATED,
        bpp=CREATED,
        op=codes(403, 404),
    ),
    # Paper signatures, called on the PPU-Balikpapan agreement in force, for Balikpapan:
    # PPU passes the gate and meets the status (409); Balikpapan may not record its own
    # signature on paper (422); the operator records like another party (409 here).
    "agreements.record_paper_signature": api(
        "agreements:write",
        "an admin of another party or of the hub operator records a party's paper signature",
        HIDDEN,
        ppu=codes(409),
        bpp=codes(422),
        op=codes(409),
    ),
    # Only the party answers its paper signature: PPU and the operator 403; Balikpapan's
    # signature was given on the hub, so it has no paper signature to answer (404).
    **{
        f"agreements.{action}_paper_signature": api(
            "agreements:write",
            "the party itself answers its paper signature",
            HIDDEN,
            ppu=FORBIDDEN,
            op=FORBIDDEN,
        )
        for action in ("confirm", "dispute")
    },
    "agreements.coverage": api("agreements:read", "own coverage", OK),
    "agreements.coverage_matrix": api("agreements:read", "own coverage", OK),
    # --- audit -----------------------------------------------------------------------
    "audit.list_audit_entries": api("audit:read", "own organisation's entries", OK),
    "audit.verify_audit_chain": api("audit:read", "chain verification", OK),
    "audit.list_audit_checkpoints": api(
        "audit:read", "the signed checkpoints: every organisation's feed has them too", OK
    ),
    "audit.list_audit_keys": api("audit:read", "public keys to verify a kept checkpoint", OK),
    # --- clients and consents: UPTDs only; another UPTD's client is hidden -----------
    "clients.create_client": api(
        "clients:write",
        "UPTDs register clients",
        NOT_UPTD,
        ppu=CREATED,
        bpp=CREATED,
        bontang=CREATED,
    ),
    "clients.list_clients": api(
        "clients:read", "own clients", NOT_UPTD, ppu=OK, bpp=OK, bontang=OK
    ),
    "clients.search_clients": api(
        "clients:read", "own clients", NOT_UPTD, ppu=OK, bpp=OK, bontang=OK
    ),
    "clients.client_matches": api(
        "clients:read", "own clients", NOT_UPTD, ppu=OK, bpp=OK, bontang=OK
    ),
    **{
        f"clients.{name}": api(
            "clients:read", "PPU's client: hidden from everyone else", HIDDEN, ppu=OK
        )
        for name in (
            "get_client",
            "list_consents",
            "list_disclosures",
            "get_consent",
            "export_client",
        )
    },
    "clients.rectify_client": api(
        "clients:write", "PPU's client: hidden from everyone else", codes(404, 422), ppu=OK
    ),
    # A unit's system (client credentials) never erases: a supervisor or admin acting
    # personally does (test_clients_rights).
    "clients.erase_client": api(
        "clients:erase", "only a person (supervisor, admin) erases", codes(403, 404)
    ),
    "clients.create_consent": api(
        "clients:write", "PPU's client: hidden from everyone else", HIDDEN, ppu=CREATED
    ),
    "clients.withdraw_consent": api(
        "clients:write", "PPU's consent: hidden from everyone else", HIDDEN, ppu=OK
    ),
    # --- cases: UPTDs only; another unit's case is hidden from everyone else ----------
    "cases.create_case": api(
        "cases:write",
        "UPTDs open cases for their own clients (PPU's client: 422 for another unit)",
        NOT_UPTD,
        ppu=CREATED,
        bpp=codes(422),
        bontang=codes(422),
    ),
    "cases.list_cases": api("cases:read", "own cases", NOT_UPTD, ppu=OK, bpp=OK, bontang=OK),
    "cases.search_cases": api("cases:read", "own cases", NOT_UPTD, ppu=OK, bpp=OK, bontang=OK),
    **{
        f"cases.{name}": api("cases:read", "PPU's case: hidden from everyone else", HIDDEN, ppu=OK)
        for name in ("get_case", "case_timeline", "list_notes")
    },
    **{
        f"cases.{name}": api("cases:write", "PPU's case: hidden from everyone else", HIDDEN, ppu=OK)
        for name in (
            "update_case",
            "close_case",
            "reopen_case",
            "update_plan_item",
            "complete_follow_up",
        )
    },
    **{
        f"cases.{name}": api(
            "cases:write", "PPU's case: hidden from everyone else", HIDDEN, ppu=CREATED
        )
        for name in ("create_plan_item", "create_note")
    },
    # Referring is sending a referral: a token without referrals:write is refused by the
    # send's own gate (403 forbidden), whatever its cases:write.
    "cases.refer_plan_item": api(
        "cases:write",
        "PPU's case; the send needs referrals:write too",
        HIDDEN,
        ppu=codes(201, 403),
    ),
    # --- intakes: reported under an agreement (none here but PPU's own walk-in); the unit
    # that owns one sees it whole, the reporter its status, everyone else nothing ----------
    "intakes.create_intake": api(
        "intakes:write",
        "a walk-in to PPU: PPU records its own; others have no complaint_intake agreement",
        codes(422),
        ppu=CREATED,
    ),
    "intakes.list_intakes": api(
        "intakes:read", "own box (sent or received)", OK, ppu=OK, bpp=OK, bontang=OK
    ),
    "intakes.get_intake": api("intakes:read", "PPU's intake: hidden from others", ppu=OK),
    "intakes.triage_intake": api("intakes:write", "PPU's intake: hidden from others", ppu=OK),
    "intakes.decline_intake": api("intakes:write", "PPU's intake: hidden from others", ppu=OK),
    # Matching asks the unit's client records: a token without clients:read is refused (403).
    "intakes.intake_matches": api(
        "intakes:write", "PPU's intake: hidden from others", ppu=codes(200, 403)
    ),
    # No agreement between PPU and Balikpapan covers intakes in the matrix's world.
    "intakes.forward_intake": api(
        "intakes:write", "PPU's intake; no forwarding agreement: 422", ppu=codes(422)
    ),
    # Accepting opens a case: a token without cases:write is refused by open_case (403).
    "intakes.accept_intake": api(
        "intakes:write", "PPU's intake; opening the case needs cases:write", ppu=codes(200, 403)
    ),
    # A unit's own clock: each UPTD reads and sets its own (a token for no person may set
    # it, as the unit's app); a partner agency or the hub operator has none (not-a-uptd).
    "intakes.get_intake_clock": api(
        "intakes:read", "the caller's own unit's hours", NOT_UPTD, ppu=OK, bpp=OK, bontang=OK
    ),
    "intakes.set_intake_clock": api(
        "intakes:write", "the caller's own unit's hours", NOT_UPTD, ppu=OK, bpp=OK, bontang=OK
    ),
    # --- referrals ----------------------------------------------------------------------
    "referrals.send_one_referral": api(
        "referrals:write",
        "PPU sends its client; others do not hold the client",
        codes(403, 404, 422),
        ppu=CREATED,
    ),
    "referrals.list_referrals": api("referrals:read", "own sent and received", OK),
    "referrals.get_one_referral": api(
        "referrals:read", "sender and recipient only", HIDDEN, ppu=OK, bpp=OK
    ),
    "referrals.referral_timeline": api(
        "referrals:read", "sender and recipient only", HIDDEN, ppu=OK, bpp=OK
    ),
    **{
        f"referrals.{action}_referral": api(
            "referrals:respond",
            f"the recipient may {action}",
            HIDDEN,
            bpp=OK,
            ppu=codes(403, 404, 409),
        )
        for action in ("accept", "reject", "start", "hold", "resume", "complete", "fail")
    },
    **{
        f"referrals.{action}_referral": api(
            "referrals:write", f"the sender may {action}", HIDDEN, ppu=OK, bpp=codes(403, 404, 409)
        )
        for action in ("cancel", "enter_in_error")
    },
    # An override's approval, of a draft: a supervisor of the sending unit personally. A
    # token without a user (every token here) never approves (403); the recipient and
    # everyone else do not see the draft.
    **{
        f"referrals.{name}": api(
            "referrals:write", "the sending unit's supervisor, personally", HIDDEN, ppu=FORBIDDEN
        )
        for name in ("approve_referral", "decline_referral_approval")
    },
    "referrals.create_appointment": api(
        "referrals:respond",
        "the recipient schedules",
        HIDDEN,
        bpp=CREATED,
        ppu=codes(403, 404, 409),
    ),
    "referrals.patch_appointment": api(
        "referrals:respond",
        "the recipient reschedules",
        HIDDEN,
        bpp=OK,
        ppu=codes(403, 404, 409),
    ),
    # --- delivery -------------------------------------------------------------------
    "delivery.list_events": api("events:read", "own events", OK),
    "delivery.list_deliveries": api("webhooks:write", "own deliveries", OK),
    "delivery.list_webhooks": api("webhooks:write", "own webhooks", OK),
    "delivery.create_one_webhook": api("webhooks:write", "own webhooks", CREATED),
    "delivery.get_one_webhook": api("webhooks:write", "PPU's webhook", HIDDEN, ppu=OK),
    "delivery.delete_one_webhook": api("webhooks:write", "PPU's webhook", HIDDEN, ppu=NO_CONTENT),
    "delivery.list_webhook_deliveries": api("webhooks:write", "PPU's webhook", HIDDEN, ppu=OK),
    "delivery.redeliver_one": api("webhooks:write", "PPU's delivery", HIDDEN, ppu=OK),
    "delivery.rotate_secret": api("webhooks:write", "PPU's webhook", HIDDEN, ppu=OK),
    "delivery.ping": api("webhooks:write", "PPU's webhook", HIDDEN, ppu=OK),
    # --- FHIR R4 (docs/interchange.md): the same tokens, scopes and parties --------------
    "fhir.metadata": Open(OK, "the FHIR CapabilityStatement, public as every FHIR server's"),
    **{
        f"fhir.{name}": api(
            "referrals:read",
            "a referral's resources: sender and recipient only",
            HIDDEN,
            ppu=OK,
            bpp=OK,
        )
        for name in ("read_task", "read_service_request", "read_patient", "read_consent")
    },
    "fhir.search_tasks": api("referrals:read", "own sent and received Tasks only", OK),
    "fhir.read_organization": api("directory:read", "the public directory", OK),
    # A status change: the recipient accepts (the matrix's JSON Patch); the sender is refused
    # by the accept's own rule, everyone else does not see the Task.
    "fhir.patch_task": api(
        "referrals:respond",
        "the recipient accepts; the sender may not",
        HIDDEN,
        bpp=OK,
        ppu=codes(403, 409),
    ),
    # PUT of the Task as read with status accepted: the same rule as the PATCH.
    "fhir.update_task": api(
        "referrals:respond",
        "the recipient accepts; the sender may not",
        HIDDEN,
        bpp=OK,
        ppu=codes(403, 409),
    ),
    # --- portal: everyone signed in ---------------------------------------------------
    "portal.home": page(frozenset(ROLES), ALL_KINDS, OK, "the start page of every user"),
    # --- portal: administration ---------------------------------------------------------
    "portal.users": page(ADMIN, ALL_KINDS, OK, "user administration: org admins"),
    "portal.technical_settings": page(
        ADMIN, ALL_KINDS, OK, "API clients, webhooks, API reference: org admins"
    ),
    "portal.user_new": page(ADMIN, ALL_KINDS, FORM, "user administration: org admins"),
    **{
        f"portal.user_{action}": page(
            ADMIN,
            ALL_KINDS,
            REDIRECT,
            "PPU's user: its own admin only",
            **{f"{kind}__org_admin": HIDDEN for kind in ("bpp", "polres", "op")},
        )
        for action in ("work_phone", "deactivate", "reactivate", "unlock")
    },
    "portal.user_reset_second_factor": page(
        ADMIN,
        ALL_KINDS,
        REDIRECT,
        "PPU's user: its own admin, or the hub operator's",
        **{f"{kind}__org_admin": HIDDEN for kind in ("bpp", "polres")},
    ),
    # Mitra: the entries an admin keeps, and invitations.
    "portal.organizations": page(ADMIN, ALL_KINDS, OK, "partners an admin keeps"),
    "portal.organization_new": page(
        ADMIN,
        ALL_KINDS,
        FORM,
        "UPTD and hub operator admins add partners",
        polres__org_admin=FORBIDDEN,
    ),
    "portal.organization": page(
        ADMIN,
        ALL_KINDS,
        OK,
        "PPU's entry: its admin, the operator's, a UPTD with an agreement (invites)",
        polres__org_admin=FORBIDDEN,
    ),
    "portal.organization_edit": page(
        ADMIN,
        ALL_KINDS,
        FORM,
        "PPU's entry: its own admin or the operator's",
        polres__org_admin=FORBIDDEN,
        bpp__org_admin=FORBIDDEN,
    ),
    "portal.organization_invite": page(
        ADMIN,
        ALL_KINDS,
        FORM,
        "into PPU: its admin, the operator's, a UPTD with an agreement (409 said on the page)",
        polres__org_admin=FORBIDDEN,
    ),
    "portal.organization_invitation_revoke": page(
        ADMIN,
        ALL_KINDS,
        REDIRECT,
        "PPU's invitation: PPU's and the operator's admins; Balikpapan did not send it",
        polres__org_admin=FORBIDDEN,
        bpp__org_admin=HIDDEN,
    ),
    "portal.oauth_clients": page(ADMIN, ALL_KINDS, OK, "API clients: org admins"),
    "portal.oauth_client_new": page(ADMIN, ALL_KINDS, FORM, "API clients: org admins"),
    "portal.oauth_client_disable": page(
        ADMIN,
        ALL_KINDS,
        REDIRECT,
        "PPU's API client: its own admin only",
        **{f"{kind}__org_admin": HIDDEN for kind in ("bpp", "polres", "op")},
    ),
    "portal.oauth_client_rotate_secret": page(
        ADMIN,
        ALL_KINDS,
        OK,
        "PPU's API client: its own admin only (the new secret is shown once)",
        **{f"{kind}__org_admin": HIDDEN for kind in ("bpp", "polres", "op")},
    ),
    "delivery_portal.webhooks": page(ADMIN, ALL_KINDS, OK, "webhooks: org admins"),
    "delivery_portal.webhook_new": page(ADMIN, ALL_KINDS, FORM, "webhooks: org admins"),
    **{
        f"delivery_portal.{name}": page(
            ADMIN,
            ALL_KINDS,
            ok,
            "PPU's webhook: its own admin only",
            **{f"{kind}__org_admin": HIDDEN for kind in ("bpp", "polres", "op")},
        )
        for name, ok in (
            ("webhook_detail", OK),
            ("webhook_delete", REDIRECT),
            ("webhook_rotate_secret", OK),
            ("redeliver", REDIRECT),
        )
    },
    # --- portal: audit ------------------------------------------------------------------
    "portal.audit_log": page(AUDIT_READERS, ALL_KINDS, OK, "auditors and org admins"),
    "portal.audit_verify": page(AUDIT_READERS, ALL_KINDS, OK, "auditors and org admins"),
    # --- portal: reports (Laporan) ---------------------------------------------------------
    "reports_portal.index": page(
        REPORT_READERS, ALL_KINDS, REDIRECT, "to the referral report: reports:read"
    ),
    **{
        f"reports_portal.{name}": page(
            REPORT_READERS, ALL_KINDS, OK, "supervisors, org admins, auditors (reports:read)"
        )
        for name in ("show", "export")
    },
    # --- portal: agreements registry -----------------------------------------------------
    # Every role reads agreements (agreements:read, as a token acting for the same person
    # may): caseworkers send referrals along them.
    **{
        f"agreements_portal.{name}": page(
            READERS, ALL_KINDS, ok, "registry readers: every role (agreements:read)"
        )
        for name, ok in (("index", OK), ("coverage", OK), ("export", OK))
    },
    **{
        f"agreements_portal.{name}": page(
            READERS,
            ALL_KINDS,
            OK,
            "PPU-Balikpapan agreement: parties and the operator",
            **{f"polres__{role}": HIDDEN for role in ROLES},
        )
        for name in ("detail", "download")
    },
    # Writers: org admins and supervisors (agreements:write holders in the API); the hub
    # operator reads every agreement but never drafts or signs (403).
    "agreements_portal.new": page(
        WRITERS, frozenset({"ppu", "bpp", "polres"}), FORM, "writers draft agreements"
    ),
    **{
        f"agreements_portal.{name}": page(
            WRITERS,
            frozenset({"ppu", "bpp"}),
            ok,
            "writers of a party; Polres readers do not see it (404); the operator reads only",
            **{f"polres__{role}": HIDDEN for role in ROLES},
        )
        for name, ok in (("edit", FORM), ("upload", FORM), ("act", REDIRECT))
    },
    # Recording a paper signature: org admins of a party or of the operator pass the gate;
    # with an empty form they get the form back (422). Polres does not see the agreement.
    "agreements_portal.paper": page(
        ADMIN,
        frozenset({"ppu", "bpp", "op"}),
        codes(422),
        "admins of another party or of the hub operator record paper signatures",
        **{f"polres__{role}": HIDDEN for role in ROLES},
    ),
    # Answering Balikpapan's signature (given on the hub): only Balikpapan's writers pass,
    # and find no paper signature (404); PPU's writers are refused as not that party.
    "agreements_portal.answer": page(
        WRITERS,
        frozenset({"bpp"}),
        HIDDEN,
        "the party's writers answer its paper signature",
        **{f"polres__{role}": HIDDEN for role in ROLES},
    ),
    # --- portal: clients (UPTD caseworkers and supervisors) ------------------------------
    "clients_portal.index": page(STAFF, UPTDS, OK, "UPTD staff"),
    "clients_portal.new": page(STAFF, UPTDS, FORM, "UPTD staff"),
    "clients_portal.search": page(STAFF, UPTDS, FORM, "UPTD staff"),
    **{
        f"clients_portal.{name}": page(
            STAFF, UPTDS, ok, "PPU's client: PPU staff", **staff_of(frozenset({"bpp"}), HIDDEN)
        )
        for name, ok in (
            ("view", OK),
            ("disclosures", OK),
            ("consent_new", FORM),
            ("consent_withdraw", FORM),
            ("export", OK),
            ("edit", FORM),
        )
    },
    # Erasure: a supervisor or an administrator of the owning unit (clients:erase).
    "clients_portal.erase": page(
        WRITERS,
        UPTDS,
        FORM,
        "PPU's client: PPU's supervisor or admin",
        bpp__supervisor=HIDDEN,
        bpp__org_admin=HIDDEN,
    ),
    # --- portal: cases (UPTD caseworkers and supervisors) --------------------------------
    "cases_portal.index": page(STAFF, UPTDS, OK, "UPTD staff"),
    "cases_portal.new": page(STAFF, UPTDS, FORM, "UPTD staff"),
    "cases_portal.search": page(STAFF, UPTDS, FORM, "UPTD staff"),
    **{
        f"cases_portal.{name}": page(
            STAFF, UPTDS, ok, "PPU's case: PPU staff", **staff_of(frozenset({"bpp"}), HIDDEN)
        )
        for name, ok in (
            ("view", OK),
            ("edit", FORM),
            ("close", FORM),
            ("reopen", REDIRECT),
            ("add_note", FORM),
            ("follow_up_done", REDIRECT),
            ("plan_item_new", FORM),
            ("plan_item_status", REDIRECT),
            ("plan_item_refer", FORM),
        )
    },
    # --- portal: intakes (caseworkers and supervisors of any organisation report; the unit
    # that owns an intake sees and answers it) ----------------------------------------------
    "intake_portal.index": page(STAFF, ALL_KINDS, OK, "own box: sent or received"),
    "intake_portal.new": page(STAFF, ALL_KINDS, FORM, "anyone who reports"),
    # The unit's hours: its staff read them, its supervisor sets them; no unit, no clock.
    "intake_portal.clock": {
        "GET": page(STAFF, UPTDS, OK, "the unit's own hours: its staff"),
        "POST": page(frozenset({"supervisor"}), UPTDS, REDIRECT, "set by the supervisor"),
    },
    "intake_portal.view": page(
        STAFF, UPTDS, OK, "PPU's intake: PPU staff", **staff_of(ALL_KINDS - {"ppu"}, HIDDEN)
    ),
    # an empty answer comes back beside its field (422), as the accept form does
    "intake_portal.act": page(
        STAFF,
        UPTDS,
        codes(302, 422),
        "PPU's intake: PPU staff",
        **staff_of(ALL_KINDS - {"ppu"}, HIDDEN),
    ),
    # --- portal: referrals, sender side ---------------------------------------------------
    "referrals_portal.new": page(STAFF, UPTDS, FORM, "the referral wizard: UPTD staff"),
    "referrals_portal.sent": page(STAFF, UPTDS, OK, "sent referrals: UPTD staff"),
    **{
        f"referrals_portal.{name}": page(
            STAFF,
            ALL_KINDS,
            ok,
            "PPU's referral: its sender's staff",
            **staff_of(frozenset({"bpp", "polres", "op"}), HIDDEN),
        )
        for name, ok in (("cancel", REDIRECT), ("enter_in_error", FORM))
    },
    # A partner not on the hub: its answers recorded by the sender's staff (the operation
    # refuses them once the partner is on the hub); the recipient's staff never reach it.
    **{
        f"referrals_portal.{name}": page(
            STAFF,
            ALL_KINDS,
            FORM,
            "PPU's referral: its sender's staff record the partner's answer on its behalf",
            **staff_of(frozenset({"bpp", "polres", "op"}), HIDDEN),
        )
        for name in ("on_behalf", "on_behalf_session", "on_behalf_session_update")
    },
    # The recipient's staff are sent on to their inbox view, and may print the letter.
    "referrals_portal.detail": page(
        STAFF,
        ALL_KINDS,
        OK,
        "sender's staff; the recipient's staff go to the inbox view",
        **staff_of(frozenset({"polres", "op"}), HIDDEN),
        **staff_of(frozenset({"bpp"}), REDIRECT),
    ),
    "referrals_portal.letter": page(
        STAFF,
        ALL_KINDS,
        OK,
        "the referral letter: sender's and recipient's staff",
        **staff_of(frozenset({"polres", "op"}), HIDDEN),
    ),
    # --- portal: an override's approval, by the sending unit's supervisors -----------------
    "referrals_portal.approvals": page(
        frozenset({"supervisor"}), UPTDS, OK, "overrides waiting: UPTD supervisors"
    ),
    **{
        f"referrals_portal.{name}": page(
            frozenset({"supervisor"}),
            UPTDS,
            ok,
            "PPU's waiting override: its supervisors; hidden from the recipient's",
            bpp__supervisor=HIDDEN,
        )
        for name, ok in (("approval", OK), ("approve", REDIRECT), ("decline", REDIRECT))
    },
    # --- portal: referrals, recipient side (inbox) -----------------------------------------
    "referrals_portal.received": page(STAFF, RECEIVERS, OK, "the inbox: recipients' staff"),
    **{
        f"referrals_portal.{name}": page(
            STAFF,
            RECEIVERS,
            ok,
            "Balikpapan's received referral: its staff",
            **staff_of(frozenset({"ppu", "polres"}), HIDDEN),
        )
        for name, ok in (
            ("received_detail", OK),
            ("received_act", REDIRECT),
            ("received_schedule", FORM),
            ("received_appointment", FORM),
        )
    },
}
