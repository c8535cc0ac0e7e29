"""Clients API: registration, the owner's read, search (NIK in the body), consent, disclosures."""

from __future__ import annotations

from flask import request, url_for
from flask_smorest import Blueprint

from referral_hub.apidoc import protected
from referral_hub.clients import operations as ops
from referral_hub.clients.schemas import (
    ClientCreatedOut,
    ClientExportOut,
    ClientIn,
    ClientOut,
    ClientPatchIn,
    ClientQueryArgs,
    ClientRegisteredOut,
    ClientSearchIn,
    ClientSummaryOut,
    ConsentIn,
    ConsentOut,
    DisclosureOut,
    EraseIn,
    MatchListOut,
    MatchQueryIn,
    WithdrawIn,
)
from referral_hub.pagination import PageArgs, page_schema, paginate

blp = Blueprint(
    "clients",
    __name__,
    url_prefix="/api/v1",
    description="Clients of a UPTD PPA, their consent, and who saw their data",
)

ClientPage = page_schema(ClientSummaryOut, "ClientPage")
ConsentPage = page_schema(ConsentOut, "ConsentPage")
DisclosurePage = page_schema(DisclosureOut, "DisclosurePage")

_NOT_FOUND = {404: "No such client of the caller's organisation"}
ETAG_HEADER = {"ETag": {"description": "entity tag; send it back in If-Match", "schema": {}}}
IF_MATCH = {
    "in": "header",
    "name": "If-Match",
    "required": True,
    "description": "The client's ETag as last read (GET /clients/{id})",
    "schema": {"type": "string"},
}


def _context() -> str:
    return f"{request.method} {request.path}"


@blp.route("/clients", methods=["POST"])
@blp.arguments(ClientIn)
@blp.response(201, ClientRegisteredOut)
@protected(blp, "clients:write", extra={409: "A client with this NIK is already registered"})
def create_client(actor, data):
    """Register a client of the caller's UPTD PPA; personal fields are encrypted at rest.

    The answer lists the unit's clients who may be the same person (a close name with a
    fitting age and region), by id and reason: nothing is merged; POST /clients/matches asks
    before registering."""
    matches = ops.possible_matches(
        actor,
        full_name=data["full_name"],
        birth_date=data["birth_date"],
        region_code=data["domicile_region"],
    )
    client = ops.register_client(actor, **data)
    location = url_for("clients.get_client", client_id=client.id, _external=True)
    client.possible_matches = matches  # for the answer only, not a column
    return client, 201, {"Location": location}


@blp.route("/clients/matches", methods=["POST"])
@blp.arguments(MatchQueryIn)
@blp.response(200, MatchListOut)
@protected(blp, "clients:read")
def client_matches(actor, data):
    """The caller's clients who may be this person: the same NIK, or a close name with a
    fitting age (within 2 years) and region (the same regency); ids and reasons only."""
    matches = ops.possible_matches(
        actor,
        nik=data.get("nik"),
        full_name=data.get("full_name"),
        birth_date=data.get("birth_date"),
        age_years=data.get("age_years"),
        region_code=data.get("domicile_region"),
    )
    return {"items": matches}


@blp.route("/clients", methods=["GET"])
@blp.arguments(ClientQueryArgs, location="query")
@blp.response(200, ClientPage)
@protected(blp, "clients:read")
def list_clients(actor, args):
    """The caller's clients, pseudonymous (code and demographics); by NIK: POST .../search."""
    query = ops.clients_query(actor, code=args.get("code"), simfoni_id=args.get("simfoni_id"))
    body, headers = paginate(query, args["page"], args["page_size"])
    return body, 200, headers


@blp.route("/clients/search", methods=["POST"])
@blp.arguments(ClientSearchIn)
@blp.arguments(PageArgs, location="query")
@blp.response(200, ClientPage)
@protected(blp, "clients:read")
def search_clients(actor, criteria, args):
    """Find the caller's clients by exact NIK, code or SIMFONI id, or by a part of the name,
    sent in the body (never in a URL)."""
    query = ops.clients_query(
        actor,
        nik=criteria.get("nik"),
        code=criteria.get("code"),
        simfoni_id=criteria.get("simfoni_id"),
        name=criteria.get("name"),
    )
    body, headers = paginate(query, args["page"], args["page_size"])
    return body, 200, headers


@blp.route('/clients/<id("search", "matches"):client_id>')
@blp.response(200, ClientOut, headers=ETAG_HEADER)
@protected(blp, "clients:read", extra=_NOT_FOUND)
def get_client(actor, client_id):
    """One client with its personal data (owning organisation only); the read is logged.
    The ETag is what a rectification (PATCH) sends back in If-Match."""
    client = ops.read_client(actor, client_id, _context())
    return client, 200, {"ETag": f'"{ops.etag_of(client)}"'}


@blp.route('/clients/<id("search"):client_id>', methods=["PATCH"])
@blp.arguments(ClientPatchIn)
@blp.response(200, ClientCreatedOut, headers=ETAG_HEADER)
@protected(
    blp,
    "clients:write",
    extra={
        **_NOT_FOUND,
        409: "The client was erased",
        412: "The client changed since the ETag you sent",
        428: "If-Match is required",
    },
)
@blp.doc(parameters=[IF_MATCH])
def rectify_client(actor, data, client_id):
    """Correct the client's record (UU PDP Pasal 6) against the ETag read (`If-Match`);
    before and after are kept encrypted. Like a registration, the answer echoes no personal
    data."""
    client = ops.rectify_client(actor, client_id, data, if_match=request.headers.get("If-Match"))
    return client, 200, {"ETag": f'"{ops.etag_of(client)}"'}


@blp.route('/clients/<id("search"):client_id>/export')
@blp.response(200, ClientExportOut)
@protected(blp, "clients:read", extra=_NOT_FOUND)
def export_client(actor, client_id):
    """Everything held of the client with its processing history (UU PDP); logged."""
    export = ops.export_client(actor, client_id, _context())
    return export


@blp.route('/clients/<id("search"):client_id>/erase', methods=["POST"])
@blp.arguments(EraseIn)
@blp.response(200, ClientOut)
@protected(
    blp,
    "clients:erase",
    extra={**_NOT_FOUND, 409: "Work is still open for the client, or it was erased already"},
)
def erase_client(actor, data, client_id):
    """Erase the client (supervisor or administrator): the client's key is destroyed, so the
    personal data is unrecoverable; numbers, statuses and the audit chain stay."""
    client = ops.erase_client(actor, client_id, data["reason"])
    return client


@blp.route('/clients/<id("search", "matches"):client_id>/consents', methods=["POST"])
@blp.arguments(ConsentIn)
@blp.response(201, ConsentOut)
@protected(blp, "clients:write", extra=_NOT_FOUND)
def create_consent(actor, data, client_id):
    """Record the consent of the client, a parent or a guardian to share data for services."""
    client = ops.get_client_of(actor, client_id)
    consent = ops.record_consent(actor, client, **data)
    (seen,) = ops.consents_seen_by(actor, [consent], _context(), record=False)
    return (
        seen,
        201,
        {"Location": url_for("clients.get_consent", consent_id=consent.id, _external=True)},
    )


@blp.route('/clients/<id("search", "matches"):client_id>/consents', methods=["GET"])
@blp.arguments(PageArgs, location="query")
@blp.response(200, ConsentPage)
@protected(blp, "clients:read", extra=_NOT_FOUND)
def list_consents(actor, args, client_id):
    """A client's consents, newest first."""
    body, headers = paginate(ops.consents_query(actor, client_id), args["page"], args["page_size"])
    body["items"] = ops.consents_seen_by(actor, body["items"], _context())
    return body, 200, headers


@blp.route("/consents/<consent_id>")
@blp.response(200, ConsentOut)
@protected(blp, "clients:read", extra={404: "No such consent of the caller's organisation"})
def get_consent(actor, consent_id):
    """One consent."""
    consent = ops.get_consent_of(actor, consent_id)
    (seen,) = ops.consents_seen_by(actor, [consent], _context())
    return seen


@blp.route("/consents/<consent_id>/withdraw", methods=["POST"])
@blp.arguments(WithdrawIn)
@blp.response(200, ConsentOut)
@protected(
    blp,
    "clients:write",
    extra={404: "No such consent", 409: "The consent was already withdrawn"},
)
def withdraw_consent(actor, data, consent_id):
    """Withdraw a consent; it takes effect at once and open referrals resting on it end."""
    consent = ops.withdraw_consent(actor, consent_id, data["reason"])
    (seen,) = ops.consents_seen_by(actor, [consent], _context())
    return seen


@blp.route('/clients/<id("search", "matches"):client_id>/disclosures')
@blp.arguments(PageArgs, location="query")
@blp.response(200, DisclosurePage)
@protected(blp, "clients:read", extra=_NOT_FOUND)
def list_disclosures(actor, args, client_id):
    """Every read and share of the client's personal data: who, which organisation, what, when."""
    query = ops.disclosures_query(actor, client_id)
    body, headers = paginate(query, args["page"], args["page_size"])
    return body, 200, headers
