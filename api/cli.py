"""The operator's command line, `xinyong` (API.md "The operator's command line")."""

from __future__ import annotations

import getpass
import json
import os
import secrets
import sys
import tempfile
from datetime import date
from pathlib import Path
from typing import Any

import click
from sqlalchemy import select

from api import openapi_doc
from api.app import create_app
from api.context import Platform
from credit import bulk, clock


def _platform(app: Any) -> Platform:
    return app.extensions["xinyong"]


@click.group()
def main() -> None:
    """Xinyong: the open credit data and partner API platform."""


@main.group()
def db() -> None:
    """The database."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Apply the database migrations (Alembic)."""
    from api.migrate import upgrade

    app = create_app()
    upgrade(_platform(app).db.engine)  # type: ignore[arg-type]
    click.echo("database is up to date")


@main.command()
@click.option("--demo", is_flag=True, required=True, help="Load the synthetic demo district.")
@click.option("--entities", type=click.IntRange(min=0), default=2000, show_default=True)
@click.option(
    "--persons",
    type=click.IntRange(min=0),
    default=None,
    help="Natural persons to create (default: a tenth of --entities).",
)
@click.option(
    "--as-of",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="The date the demo data is generated around (default: today, China time).",
)
def seed(demo: bool, entities: int, persons: int | None, as_of: Any) -> None:
    """Load a synthetic but realistic district (division 370306), migrating first."""
    from api.migrate import upgrade

    app = create_app()
    platform = _platform(app)
    engine = platform.db.engine
    if engine is None:
        raise click.ClickException("the database engine is not configured")
    upgrade(engine)
    day: date = as_of.date() if as_of else clock.today()
    persons = entities // 10 if persons is None else persons

    def progress(report: bulk.LoadReport) -> None:
        click.echo(
            f"  {report.entities:,} entities, {report.persons:,} persons, "
            f"{report.records:,} records",
            err=True,
        )

    with engine.begin() as connection:
        report = bulk.load_demo(
            connection,
            entities=entities,
            persons=persons,
            as_of=day,
            protector=platform.identities,
            progress=progress if entities + persons >= 50_000 else None,
        )
    if report.skipped:
        click.echo("The demo data is already loaded; nothing to do.")
        return
    bulk.vacuum_analyze(engine)
    # A server already running may have cached the empty district's searches.
    app.extensions["xinyong_cache"].invalidate([])
    click.echo(
        f"Loaded {report.entities:,} legal persons, {report.persons:,} natural persons, "
        f"{report.records:,} records and {report.changes:,} change-feed entries "
        f"in {report.seconds:.1f} s."
    )
    if entities:
        _demo_parties(app)


def _demo_parties(app: Any) -> None:
    """A demo bank, court and subject account, printed once (and kept in the instance folder)."""
    import secrets

    from sqlalchemy import select

    from auth import service
    from auth.scopes import CATEGORY_SCOPES
    from credit.models import Record, Subject, SubjectKind

    platform = _platform(app)
    with _session(app) as session:
        # An enterprise with a penalty on record, so that its report has something to show.
        enterprises = select(Subject).where(Subject.kind == SubjectKind.ENTERPRISE.value)
        entity = (
            session.scalars(
                enterprises.join(Record, Record.subject_pk == Subject.id)
                .where(Record.kind == "penalty")
                .order_by(Subject.id.desc())
                .limit(1)
            ).first()
            or session.scalars(enterprises.order_by(Subject.id.desc())).first()
        )
        if entity is None:
            return
        bank = service.create_client(
            db_session=session,
            hasher=platform.oauth.hasher,
            name="演示银行 Demo Bank",
            kind="bank",
            scopes=("consents.request", *CATEGORY_SCOPES),
        )
        court = service.create_client(
            db_session=session,
            hasher=platform.oauth.hasher,
            name="周村区人民法院（演示）Demo Court",
            kind="judicial",
            scopes=("credit.basic", "credit.judicial"),
            categories=("basic", "judicial"),
        )
        password = secrets.token_urlsafe(12)
        account = service.create_account(
            db_session=session, identities=platform.identities, password=password, uscc=entity.uscc
        )
        session.commit()
        demo = {
            "bank": {"client_id": bank.client.client_id, "client_secret": bank.client_secret},
            "court": {"client_id": court.client.client_id, "client_secret": court.client_secret},
            "subject": {
                "username": account.username,
                "password": password,
                "subject_id": entity.subject_id,
                "name": entity.name,
            },
        }
    path = Path(app.instance_path) / "demo-credentials.json"
    path.write_text(json.dumps(demo, ensure_ascii=False, indent=2), encoding="utf-8")
    path.chmod(0o600)
    click.echo("Demo parties (also in " + str(path) + "):")
    click.echo(
        f"  bank    client_id {demo['bank']['client_id']}  secret {demo['bank']['client_secret']}"
    )
    click.echo(
        f"  court   client_id {demo['court']['client_id']}  secret {demo['court']['client_secret']}"
    )
    click.echo(f"  subject username {account.username}  password {password}  ({entity.name})")


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=click.IntRange(1, 65535), default=8000, show_default=True)
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=None,
    help="gunicorn worker processes (default: 2 × cores + 1, at most 8).",
)
@click.option("--threads", type=click.IntRange(min=1), default=1, show_default=True)
def serve(host: str, port: int, workers: int | None, threads: int) -> None:
    """Serve the API with gunicorn, migrating the database first."""
    from api.migrate import upgrade

    app = create_app()
    upgrade(_platform(app).db.engine)  # type: ignore[arg-type]
    # Make the first signing key here, once, rather than in several workers at once.
    _platform(app).oauth.keys.signing_keyset()
    worker_count = workers or min(2 * (os.cpu_count() or 1) + 1, 8)
    # prometheus_client picks its multiprocess mode when imported, so the workers must start in
    # a fresh interpreter that sees the directory: exec gunicorn rather than embed it.
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="xinyong-metrics-")
    bind = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    click.echo(f"Serving on http://{bind} (docs at /docs) with {worker_count} workers", err=True)
    sys.stdout.flush()
    sys.stderr.flush()
    argv = [
        sys.executable, "-m", "gunicorn",
        "--config", "python:api.gunicorn_conf",
        "--bind", bind,
        "--workers", str(worker_count),
        "--threads", str(threads),
        "api.wsgi:app",
    ]  # fmt: skip
    os.execv(sys.executable, argv)  # noqa: S606  (our own interpreter, fixed arguments)


@main.command("openapi")
@click.option("--check", is_flag=True, help="Fail if openapi/openapi.json is out of date.")
@click.option(
    "--output", type=click.Path(path_type=Path), default=openapi_doc.DEFAULT_PATH, show_default=True
)
def openapi_command(check: bool, output: Path) -> None:
    """Write the OpenAPI document, or check that the exported one is current."""
    app = create_app({"LOG_LEVEL": "WARNING"})
    if check:
        if not openapi_doc.is_current(app, output):
            click.echo(
                f"{output} is out of date with the code; run `xinyong openapi` and commit it.",
                err=True,
            )
            sys.exit(1)
        click.echo(f"{output} is up to date")
        return
    openapi_doc.write(app, output)
    spec = json.loads(output.read_text(encoding="utf-8"))
    click.echo(f"wrote {output} ({len(spec.get('paths', {}))} paths)")


def _session(app: Any) -> Any:
    return _platform(app).db.new_session()


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no login name in some containers
        return f"uid{os.getuid()}"


def _operator_audit(session: Any, action: str, target: str | None = None, **details: Any) -> None:
    """Record an operator's write, made from this command line, in the write's transaction."""
    from credit import audit

    audit.record(
        db_session=session,
        actor=f"cli:{_os_user()}",
        actor_kind="operator",
        action=action,
        target=target,
        details=details,
    )


def _fail(message: str) -> None:
    raise click.ClickException(message)


@main.group()
def clients() -> None:
    """The client register: partners, departments, government, judicial, operators."""


@clients.command("create")
@click.option("--name", required=True)
@click.option(
    "--kind",
    required=True,
    type=click.Choice(
        [
            "bank",
            "microcredit",
            "guarantee",
            "rating_agency",
            "credit_service_agency",
            "government",
            "judicial",
            "department",
            "admin",
        ]  # fmt: skip
    ),
)
@click.option(
    "--scopes", required=True, help='Space-separated, e.g. "credit.basic consents.request".'
)
@click.option(
    "--categories", default="", help="Categories a government or judicial client may read."
)
@click.option(
    "--redirect-uri", "redirect_uris", multiple=True, help="Exact redirect URI; repeatable."
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def clients_create(
    name: str,
    kind: str,
    scopes: str,
    categories: str,
    redirect_uris: tuple[str, ...],
    as_json: bool,
) -> None:
    """Register a client; its secret is printed this once."""
    from auth import service
    from auth.errors import InvalidClientRegistration

    app = create_app({"LOG_LEVEL": "WARNING"})
    with _session(app) as session:
        try:
            issued = service.create_client(
                db_session=session,
                hasher=_platform(app).oauth.hasher,
                name=name,
                kind=kind,
                scopes=scopes.split(),
                categories=categories.split(),
                redirect_uris=list(redirect_uris),
            )
        except InvalidClientRegistration as exc:
            _fail(str(exc))
            return
        _operator_audit(
            session, "client.create", issued.client.client_id,
            name=name, kind=kind, scopes=scopes.split(), categories=categories.split(),
        )  # fmt: skip
        session.commit()
        out = {
            "client_id": issued.client.client_id,
            "client_secret": issued.client_secret,
            "name": issued.client.name,
            "kind": issued.client.kind,
            "scopes": issued.client.scopes,
            "categories": issued.client.categories,
        }
    if as_json:
        click.echo(json.dumps(out, ensure_ascii=False))
    else:
        click.echo(f"client_id:     {out['client_id']}")
        click.echo(f"client_secret: {out['client_secret']}")
        click.echo("The secret is shown this once; the platform keeps only its hash.", err=True)


@clients.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def clients_list(as_json: bool) -> None:
    """List the registered clients and their standing."""
    from auth import service

    app = create_app({"LOG_LEVEL": "WARNING"})
    with _session(app) as session:
        rows = [service.describe_client(c) for c in service.list_clients(db_session=session)]
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, default=str))
        return
    for row in rows:
        click.echo(
            f"{row['client_id']:<28} {row['status']:<10} {row['kind']:<22} {row['name']}  "
            f"[{' '.join(row['scopes'])}]"
        )


def _status_command(name: str, status: str, help_text: str) -> None:
    @clients.command(name, help=help_text)
    @click.argument("client_id")
    def command(client_id: str) -> None:
        from auth import service
        from auth.errors import AuthError
        from auth.models import ClientStatus

        app = create_app({"LOG_LEVEL": "WARNING"})
        with _session(app) as session:
            try:
                service.set_client_status(
                    db_session=session, client_id=client_id, status=ClientStatus(status)
                )
            except AuthError as exc:
                _fail(str(exc))
            _operator_audit(session, f"client.{name}", client_id, status=status)
            session.commit()
        click.echo(f"{client_id} is {status}; this takes effect on its next request.")


_status_command("suspend", "suspended", "Suspend a client: no tokens, no reads, at once.")
_status_command("reactivate", "active", "Reactivate a suspended client.")
_status_command("revoke", "revoked", "Revoke a client for good; its refresh tokens end.")


@clients.command("rotate-secret")
@click.argument("client_id")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def clients_rotate_secret(client_id: str, as_json: bool) -> None:
    """Give a client a new secret; the old one stops working at once."""
    from auth import service
    from auth.errors import AuthError

    app = create_app({"LOG_LEVEL": "WARNING"})
    with _session(app) as session:
        try:
            secret = service.rotate_secret(
                db_session=session, hasher=_platform(app).oauth.hasher, client_id=client_id
            )
        except AuthError as exc:
            _fail(str(exc))
            return
        _operator_audit(session, "client.rotate-secret", client_id)
        session.commit()
    if as_json:
        click.echo(json.dumps({"client_id": client_id, "client_secret": secret}))
    else:
        click.echo(f"client_secret: {secret}")


@clients.command("set-limit")
@click.argument("client_id")
@click.option("--per-minute", type=click.IntRange(min=1), default=None, help="Requests a minute.")
@click.option("--burst", type=click.IntRange(min=1), default=None, help="Requests a second.")
@click.option("--reset", is_flag=True, help="Back to the limits of the client's kind.")
def clients_set_limit(
    client_id: str, per_minute: int | None, burst: int | None, reset: bool
) -> None:
    """Override a client's rate limits; it takes effect on its next request."""
    from auth import service
    from auth.errors import AuthError

    if reset == (per_minute is not None) or (reset and burst is not None):
        _fail("give --per-minute N (and optionally --burst M), or --reset alone")
    app = create_app({"LOG_LEVEL": "WARNING"})
    with _session(app) as session:
        try:
            service.set_rate_limit(
                db_session=session, client_id=client_id, per_minute=per_minute, burst=burst
            )
        except AuthError as exc:
            _fail(str(exc))
            return
        _operator_audit(session, "client.set-limit", client_id, per_minute=per_minute, burst=burst)
        session.commit()
    if reset:
        click.echo(f"{client_id} is back to the limits of its kind.")
    else:
        shown = f", burst {burst} a second" if burst else ""
        click.echo(f"{client_id} may make {per_minute} requests a minute{shown}.")


@main.group()
def accounts() -> None:
    """Subject accounts for signing in."""


@accounts.command("create")
@click.option("--uscc", default=None, help="A legal person's unified social credit code.")
@click.option("--id-number", default=None, help="A natural person's resident identity number.")
@click.option("--name", default=None, help="The natural person's name.")
@click.option("--password", required=True, help="At least 10 characters.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def accounts_create(
    uscc: str | None, id_number: str | None, name: str | None, password: str, as_json: bool
) -> None:
    """Make a subject account (the stand-in for real-name verification)."""
    from auth import service
    from auth.errors import AuthError
    from credit.identifiers import InvalidIdentifier

    app = create_app({"LOG_LEVEL": "WARNING"})
    with _session(app) as session:
        try:
            account = service.create_account(
                db_session=session,
                identities=_platform(app).identities,
                password=password,
                uscc=uscc,
                id_number=id_number,
                name=name,
            )
        except (AuthError, InvalidIdentifier) as exc:
            _fail(str(exc))
            return
        _operator_audit(session, "account.create", account.subject.subject_id)
        session.commit()
        out = {"username": account.username, "subject_id": account.subject.subject_id}
    if as_json:
        click.echo(json.dumps(out))
    else:
        click.echo(f"username:   {out['username']}")
        click.echo(f"subject_id: {out['subject_id']}")


@main.group()
def keys() -> None:
    """Token-signing keys."""


@keys.command("rotate")
def keys_rotate() -> None:
    """Make a new signing key; tokens signed by the old one stay valid until they expire."""
    from api.config import secret_bytes
    from auth.keys import rotate

    app = create_app({"LOG_LEVEL": "WARNING"})
    with _session(app) as session:
        key = rotate(db_session=session, keystore_key=secret_bytes(app.config, "KEYSTORE_KEY"))
        _operator_audit(session, "keys.rotate", key.kid)
        session.commit()
        click.echo(f"new signing key {key.kid}")


@main.group()
def ledger() -> None:
    """The consent ledger."""


@ledger.command("verify")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def ledger_verify(as_json: bool) -> None:
    """Check the ledger's hash chain; exit status 1 if an entry was altered, removed or moved."""
    from consent.ledger import verify

    app = create_app({"LOG_LEVEL": "WARNING"})
    with _session(app) as session:
        result = verify(db_session=session)
    if as_json:
        click.echo(json.dumps(result.__dict__))
    elif result.valid:
        click.echo(f"the consent ledger is intact: {result.entries} entries")
    else:
        click.echo(f"the consent ledger is broken at entry {result.broken_seq}: {result.reason}")
    if not result.valid:
        sys.exit(1)


@main.group()
def consents() -> None:
    """Consents."""


@consents.command("expire")
def consents_expire() -> None:
    """Record in the ledger the expiry of every consent past its `expires_at`."""
    from consent.service import expire_due

    app = create_app({"LOG_LEVEL": "WARNING"})
    with _session(app) as session:
        count = expire_due(db_session=session)
        _operator_audit(session, "consents.expire", None, expired=count)
        session.commit()
    click.echo(f"{count} consents expired")


@main.command("ingest")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--department", "client_id", required=True, help="The department's client id.")
@click.option("--format", "file_format", type=click.Choice(["csv", "jsonl"]), default=None,
              help="Default: from the extension (.csv; .jsonl, .ndjson).")  # fmt: skip
@click.option("--encoding", default=None, help="Default: UTF-8, else GB 18030.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def ingest_command(
    file: Path, client_id: str, file_format: str | None, encoding: str | None, as_json: bool
) -> None:
    """Import a department's records from a CSV or JSON Lines file, idempotently.

    The rows are the records of `POST /v1/ingest/records`; the national double-publicity
    column names (XK_WSH, CF_WSH, CF_CFLB, CF_NR_FK in 万元, ...) are accepted too. Valid rows
    are stored in batches of 1,000, each committed; importing the file again changes nothing.
    Prints a summary and each rejected row with its line and the reason for each field; the
    exit status is 1 when a row was rejected.
    """
    from auth import service
    from credit import import_file
    from credit.models import LegacyUscc

    app = create_app({"LOG_LEVEL": "WARNING"})
    try:
        chosen = import_file.format_of(file, file_format)
        rows = list(import_file.read_rows(file, file_format=chosen, encoding=encoding))
    except (import_file.UnreadableFile, OSError) as exc:
        _fail(f"cannot import {file.name}: {exc}")
        return
    report: dict[str, Any] = {
        "file": file.name, "department": client_id, "rows": len(rows),
        "created": 0, "duplicates": 0, "rejected": [],
    }  # fmt: skip
    with _session(app) as session:
        department = service.get_client(db_session=session, client_id=client_id)
        if department is None or department.kind != "department":
            _fail(f"{client_id} is not a registered department client")
            return
        if department.status != "active":
            _fail(f"{client_id} is {department.status}: reactivate it to import")
            return
        report["department_name"] = department.name
        run_id = f"import-{secrets.token_hex(8)}"
        legacy = list(session.scalars(select(LegacyUscc.uscc)).all())
        for row in rows:
            if row.errors:
                report["rejected"].append(_rejected_line(row, _all_errors(row, legacy)))
        readable = [row for row in rows if not row.errors and row.record is not None]
        for start in range(0, len(readable), MAX_IMPORT_BATCH):
            chunk = readable[start : start + MAX_IMPORT_BATCH]
            _import_chunk(app, session, department, chunk, file.name, run_id, legacy, report)
    report["rejected"].sort(key=lambda r: r["line"])
    _print_import_report(report, as_json)
    if report["rejected"]:
        sys.exit(1)


MAX_IMPORT_BATCH = 1000


def _import_chunk(
    app: Any,
    session: Any,
    department: Any,
    chunk: list[Any],
    file_name: str,
    run_id: str,
    legacy: list[str],
    report: dict[str, Any],
) -> None:
    """Store one batch of the file's rows and commit it, with its audit event."""
    from credit import ingest

    result = ingest.ingest_records(
        db_session=session,
        department=department.name,
        rows=[row.record for row in chunk],
        identities=_platform(app).identities,
        changed_by=department.client_id,
        request_id=run_id,
        legacy_allowed=legacy,
    )
    _operator_audit(
        session, "records.import", department.name,
        department=department.client_id, file=file_name, run=run_id,
        accepted=result.accepted, duplicates=result.duplicates, rejected=len(result.rejected),
        created=[r.record_id for r in result.records if r.outcome == "created"],
    )  # fmt: skip
    session.commit()
    report["created"] += result.accepted
    report["duplicates"] += result.duplicates
    for rejected in result.rejected:
        row = chunk[rejected.index]
        report["rejected"].append(_rejected_line(row, rejected.errors, rejected.status))


def _all_errors(row: Any, legacy: list[str]) -> dict[str, list[str]]:
    """A row's reading errors, and what the record check finds in the rest of it."""
    from credit.records_input import validate_record

    errors = dict(row.errors)
    if row.record is not None:
        _, more = validate_record(row.record, today=clock.today(), legacy_allowed=legacy)
        for name, messages in more.items():
            errors.setdefault(name, messages)
    return errors


def _rejected_line(row: Any, errors: dict[str, list[str]], status: int = 422) -> dict[str, Any]:
    """A rejected row, its fields named with the file's own column where it used an alias."""
    named = {
        (f"{name} ({row.columns[name]})" if name in row.columns else name): messages
        for name, messages in errors.items()
    }
    return {"line": row.line, "status": status, "errors": named}


def _print_import_report(report: dict[str, Any], as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(report, ensure_ascii=False))
        return
    for rejected in report["rejected"]:
        what = "conflict" if rejected["status"] == 409 else "rejected"
        click.echo(f"line {rejected['line']}: {what}")
        for name, messages in rejected["errors"].items():
            for message in messages:
                click.echo(f"  {name}: {message}")
    click.echo(
        f"{report['file']} as {report.get('department_name', report['department'])}: "
        f"{report['rows']} rows, {report['created']} created, {report['duplicates']} "
        f"already stored, {len(report['rejected'])} rejected"
    )
