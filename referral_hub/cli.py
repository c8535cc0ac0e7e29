"""`flask --app wsgi hub ...`: administration from the command line."""

from __future__ import annotations

import json
import os
import sys

import click
from flask import current_app
from flask.cli import with_appcontext

from referral_hub.actors import Actor
from referral_hub.extensions import db
from referral_hub.permissions import ROLES
from referral_hub.problems import Problem


@click.group()
def hub() -> None:
    """Referral hub administration."""


def _fail(message: str, code: int = 1) -> None:
    click.echo(message, err=True)
    sys.exit(code)


def _problem_message(problem: Problem) -> str:
    lines = [problem.detail or problem.title]
    for field, messages in (problem.errors or {}).items():
        lines.append(f"  {field}: {'; '.join(map(str, messages))}")
    return "\n".join(lines)


@hub.command("load-partners")
@click.argument("path", required=False)
@with_appcontext
def load_partners_command(path: str | None) -> None:
    """Validate and load partners.yaml (idempotent; nothing is half-loaded).

    The file is the seed: it adds the services and organisations the hub lacks and updates
    entries nobody changed in the hub. An organisation added or edited in the hub (portal
    Mitra or the API) is kept as the hub has it and reported as =code; organisations only in
    the hub are never removed.
    """
    from referral_hub.directory.operations import load_partners
    from referral_hub.directory.partners_file import PartnersFileError

    path = path or current_app.config["HUB_PARTNERS_FILE"]
    try:
        changes = load_partners(Actor.system("cli:load-partners"), path)
        db.session.commit()
    except PartnersFileError as error:
        db.session.rollback()
        _fail(f"{path}: not loaded, nothing changed:\n  " + "\n  ".join(error.problems))
    total = len(changes["services"]) + len(changes["organizations"])
    click.echo(
        f"{path}: {total} change(s)"
        + (": " + " ".join(changes["services"] + changes["organizations"]) if total else "")
    )
    if changes["kept"]:
        click.echo(f"kept as maintained in the hub: {' '.join(changes['kept'])}")


@hub.command("create-client")
@click.option("--org", "org", required=True, help="Organisation code or id")
@click.option("--name", required=True)
@click.option("--scope", required=True, help='Space-separated, e.g. "referrals:read events:read"')
@click.option(
    "--grant",
    "grants",
    multiple=True,
    type=click.Choice(["client_credentials", "authorization_code", "refresh_token"]),
    help="Grant types (default client_credentials)",
)
@click.option("--redirect-uri", "redirect_uris", multiple=True)
@click.option("--public", is_flag=True, help="No secret: PKCE-only app (code grant)")
@with_appcontext
def create_client_command(org, name, scope, grants, redirect_uris, public) -> None:
    """Register an OAuth client; print {"client_id", "client_secret"} as JSON."""
    from referral_hub.oauth.operations import create_client

    try:
        client, secret = create_client(
            Actor.system("cli:create-client"),
            organization=org,
            name=name,
            scope=scope,
            grant_types=list(grants) or None,
            redirect_uris=list(redirect_uris),
            public=public,
        )
        db.session.commit()
    except Problem as problem:
        db.session.rollback()
        _fail(_problem_message(problem))
    click.echo(json.dumps({"client_id": client.client_id, "client_secret": secret}))


@hub.command("create-user")
@click.option("--org", "org", required=True)
@click.option("--email", required=True)
@click.option("--role", required=True, type=click.Choice(ROLES))
@click.option("--name", default=None)
@with_appcontext
def create_user_command(org, email, role, name) -> None:
    """Create a staff account; the password comes from HUB_PASSWORD or a prompt."""
    from referral_hub.accounts.operations import create_user

    password = os.environ.get("HUB_PASSWORD") or click.prompt(
        "Password", hide_input=True, confirmation_prompt=True
    )
    try:
        user = create_user(
            Actor.system("cli:create-user"),
            organization=org,
            email=email,
            role=role,
            password=password,
            name=name,
        )
        db.session.commit()
    except Problem as problem:
        db.session.rollback()
        _fail(_problem_message(problem))
    click.echo(json.dumps({"id": user.id, "email": user.email, "role": user.role}))


@hub.command("audit-verify")
@click.option(
    "--checkpoint",
    "checkpoint_files",
    multiple=True,
    type=click.Path(dir_okay=False),
    help="A checkpoint kept from the API or the feed (JSON); may be given several times",
)
@with_appcontext
def audit_verify_command(checkpoint_files: tuple[str, ...]) -> None:
    """Exit 0 when the audit chain is whole, reaches every signed checkpoint (stored, and each
    --checkpoint FILE), and the rows deciding what is shared match it; else name each fault."""
    from referral_hub.audit.checkpoints import kept_from_files
    from referral_hub.audit.verification import verify_audit

    try:
        kept = kept_from_files(checkpoint_files)
    except ValueError as error:
        _fail(str(error), 2)
    result = verify_audit(kept=kept)
    db.session.rollback()
    click.echo(json.dumps(result.as_dict()))
    records = result.records
    click.echo(
        f"{result.chain.entries} entries, {result.checkpoints.checked} checkpoint(s), "
        f"{records.checked} deciding row(s) checked (rows in {records.seconds:.2f} s)",
        err=True,
    )
    if not result.ok:
        _fail("\n".join(result.problems()), 2)


@hub.command("audit-checkpoint")
@with_appcontext
def audit_checkpoint_command() -> None:
    """Sign the chain's head now and publish it to every organisation's feed; print it."""
    from referral_hub.audit.checkpoints import as_served, sign_checkpoint

    try:
        checkpoint = sign_checkpoint(Actor.system("cli:audit-checkpoint"))
        served = as_served(checkpoint)
        db.session.commit()
    except Problem as problem:
        db.session.rollback()
        _fail(_problem_message(problem), 2)
    click.echo(json.dumps(served))


@hub.command("reports-refresh")
@click.option("--full", is_flag=True, help="rebuild every month (after a bulk import)")
@with_appcontext
def reports_refresh_command(full: bool) -> None:
    """Rebuild the reports' monthly summary and case facts now (the job does it every ten
    minutes)."""
    from referral_hub.reports.case_summary import refresh_case_summary
    from referral_hub.reports.summary import refresh_referral_summary

    months = refresh_referral_summary(full=full)
    db.session.commit()
    cases = refresh_case_summary(full=full)
    db.session.commit()
    click.echo(f"{months} months rebuilt, {cases} cases")


@hub.command("demo")
@with_appcontext
def demo_command() -> None:
    """Create demo organisations' users, agreements, referrals and cases (never in production)."""
    from referral_hub.demo import load_demo

    if current_app.config["HUB_ENV"] == "production":
        _fail("refusing to load demo data with HUB_ENV=production")
    summary = load_demo()
    db.session.commit()
    click.echo(json.dumps(summary))


@hub.command("rotate-keys")
@click.option("--batch-size", default=200, show_default=True, type=click.IntRange(1, 10_000))
@with_appcontext
def rotate_keys_command(batch_size: int) -> None:
    """Re-encrypt personal data and NIK indexes under the current (first) key of HUB_DATA_KEYS.

    Runs beside live traffic: one short transaction per batch, and readers still decrypt with
    the old keys, which stay in the ring until this reports nothing left under them.
    """
    from referral_hub.clients.crypto import DecryptionError
    from referral_hub.clients.operations import rotate_keys_batch

    actor = Actor.system("cli:rotate-keys")
    totals = {"rows": 0, "values": 0, "indexes": 0}
    kid = None
    while True:
        try:
            batch = rotate_keys_batch(actor, batch_size)
            db.session.commit()
        except DecryptionError as error:
            db.session.rollback()
            _fail(f"stopped, nothing of this batch changed: {error}", 2)
        kid = batch["kid"]
        if not batch["rows"]:
            break
        for key in totals:
            totals[key] += batch[key]
        click.echo(
            f"batch: {batch['rows']} row(s), {batch['values']} value(s), "
            f"{batch['indexes']} index(es) moved to key '{kid}'",
            err=True,
        )
    click.echo(json.dumps({"current_kid": kid, **totals}))


@hub.command("retention-due")
@click.option("--unit", "unit_code", help="Only this unit (its code)")
@with_appcontext
def retention_due_command(unit_code: str | None) -> None:
    """List the clients past their unit's retention period (numbers only: unit, client code,
    date of the last work); a supervisor or administrator then erases them."""
    from referral_hub.directory.operations import find_organization
    from referral_hub.retention import retention_due

    unit = None
    if unit_code:
        unit = find_organization(unit_code)
        if unit is None:
            _fail(f"no organisation '{unit_code}'")
    rows = retention_due(unit)
    for row in rows:
        click.echo(f"{row['unit']}\t{row['client']}\t{row['last_work'].isoformat()}")
    click.echo(f"{len(rows)} client(s) past their retention period", err=True)


@hub.command("retention-set")
@click.argument("unit_code")
@click.argument("years")
@with_appcontext
def retention_set_command(unit_code: str, years: str) -> None:
    """Give a unit its own retention period in years (1-100), or `default` for
    HUB_CLIENT_RETENTION_YEARS; audited."""
    from referral_hub.directory.operations import find_organization
    from referral_hub.retention import retention_years, set_retention_years

    unit = find_organization(unit_code)
    if unit is None:
        _fail(f"no organisation '{unit_code}'")
    if years == "default":
        value = None
    elif years.isdigit() and 1 <= int(years) <= 100:
        value = int(years)
    else:
        _fail("years: a whole number from 1 to 100, or 'default'")
    set_retention_years(Actor.system("cli:retention-set"), unit, value)
    db.session.commit()
    click.echo(f"{unit.code}: {retention_years(unit)} year(s)")


@hub.command("worker")
@click.option("--burst", is_flag=True, help="Stop when the queues are empty")
@with_appcontext
def worker_command(burst: bool) -> None:
    """Run an rq worker (with its scheduler) on the hub's queues; needs HUB_REDIS_URL."""
    from referral_hub.delivery.worker import run_worker

    if not current_app.config.get("HUB_REDIS_URL"):
        _fail("HUB_REDIS_URL is not set: in the embedded mode jobs run inside the app process")
    run_worker(burst=burst)


@hub.command("export-schemas")
@click.option("--check", is_flag=True, help="Exit 1 if a committed contract is out of date")
@with_appcontext
def export_schemas_command(check: bool) -> None:
    """Write schemas/openapi.json and schemas/events/*.json from the code."""
    from referral_hub.contracts import SCHEMAS_DIR, rendered_contracts, write_contracts

    app = current_app._get_current_object()
    if check:
        stale = [
            relative
            for relative, content in rendered_contracts(app).items()
            if not (SCHEMAS_DIR / relative).exists()
            or (SCHEMAS_DIR / relative).read_text() != content
        ]
        if stale:
            _fail("out of date: " + ", ".join(stale) + " (run `flask hub export-schemas`)")
        click.echo("contracts up to date")
        return
    changed = write_contracts(app)
    click.echo("written: " + (", ".join(changed) if changed else "nothing changed"))
