"""`flask --app app upstream import --client NAME FILE`: import a JSON array or JSON Lines file of upstream
records (the push's format, docs/upstream.md) for one upstream client, as an administrator would.

Each record is imported in its own savepoint: the good ones are committed, each refused one is printed with
its line and reason, and the exit status is 1 when any was refused (so a script notices).
"""
from __future__ import annotations

import getpass
from pathlib import Path

import click

from engine.accounts import Principal
from engine.attachments import AttachmentStore
from engine.errors import DomainError

from .errors import error_text
from .upstream import validate_record


def _reason(error: dict, lang: str) -> str:
    message = error["message_en" if lang == "en" else "message_zh"]
    details = error.get("details")
    if isinstance(details, dict):
        key = "message_en" if lang == "en" else "message_zh"
        fields = "; ".join(f"{field}: {' '.join(m.get(key, '') for m in ms if isinstance(m, dict))}"
                           for field, ms in details.items() if isinstance(ms, list))
        return f"{message} ({fields})" if fields else message
    return message


def register(app, clock_for) -> None:
    group = click.Group("upstream", help="Upstream platforms (provincial/national): import pushed-down records.")

    @group.command("import")
    @click.option("--client", "client_name", required=True, help="The upstream client's name.")
    @click.option("--city", default=None, help="The client's city, where two cities use one name.")
    @click.argument("file", type=click.Path(exists=True, dir_okay=False))
    def import_file(client_name, city, file):
        """Import FILE (JSON array or JSON Lines); print each line's result."""
        from engine.facade import Hotline
        settings = app.extensions["hotline_settings"]
        lang = settings.default_language
        admin = Principal(f"cli:{getpass.getuser()}", frozenset({"admin"}))
        store = AttachmentStore(settings.attachment_dir, settings.max_attachment_bytes)
        try:
            with app.extensions["hotline_db"].unit_of_work() as session:
                facade = Hotline(session, clock_for(session))
                client = facade.upstream_client(admin, name=client_name, city=city)
                report = facade.import_upstream_file(admin, client.id, Path(file).read_bytes(),
                                                     validate=validate_record, store=store, max_records=None)
        except DomainError as exc:
            raise click.ClickException(error_text(exc, lang)) from exc
        for row in report["records"]:
            if row["result"] == "refused":
                click.echo(f"line {row['line']}: refused {row['external_id'] or ''} — {_reason(row['error'], lang)}")
            else:
                click.echo(f"line {row['line']}: {row['result']} {row['external_id']} -> {row['number']}")
        click.echo(f"{report['total']} records: {report['created']} created, {report['already_imported']} already "
                   f"imported, {report['refused']} refused")
        if report["refused"]:
            raise SystemExit(1)

    app.cli.add_command(group)
