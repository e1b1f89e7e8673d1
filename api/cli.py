"""The operator's command line, `xinyong` (API.md "The operator's command line")."""

from __future__ import annotations

import json
import os
import sys
import tempfile
from datetime import date
from pathlib import Path
from typing import Any

import click

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
    click.echo(
        f"Loaded {report.entities:,} legal persons, {report.persons:,} natural persons, "
        f"{report.records:,} records and {report.changes:,} change-feed entries "
        f"in {report.seconds:.1f} s."
    )


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
