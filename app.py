"""Flask application factory and the operations CLI (`flask --app app ...`)."""
from __future__ import annotations

import getpass
import json
from pathlib import Path

import click
from flask import Flask
from flask_wtf.csrf import CSRFProtect
from jinja2 import ChoiceLoader, FileSystemLoader
from werkzeug.routing import IntegerConverter

from api import ai_cli, context, errors, i18n, security
from api import health, metrics as metrics_api, request_log
from api.admin import bp as admin_api_bp
from api.admin_pages import bp as admin_pages_bp
from api.attachments import api_bp as attachments_api_bp, pages_bp as attachment_pages_bp
from api.audit_pages import bp as audit_pages_bp
from api.intelligence import bp as intelligence_api_bp
from api.intelligence_pages import bp as intelligence_pages_bp
from api.insights import bp as insights_api_bp
from api.kpis import bp as kpis_api_bp
from api.kpi_pages import bp as kpi_pages_bp
from api.reports import bp as reports_api_bp
from api.privacy import bp as privacy_api_bp
from api.report_pages import bp as report_pages_bp
from api.insights_pages import bp as insights_pages_bp
from api.studio_pages import bp as studio_pages_bp
from api.dashboard_pages import bp as dashboard_pages_bp
from api.escalation import bp as escalation_bp
from api.emergency import bp as emergency_api_bp, pages_bp as emergency_pages_bp
from api.escalation_pages import bp as escalation_pages_bp
from api import channels as channels_api
from api import upstream as upstream_api, upstream_cli
from api.knowledge import bp as knowledge_api_bp
from api.open311 import bp as open311_bp
from api.knowledge_pages import bp as knowledge_pages_bp
from api.messages import bp as messages_bp
from api.openapi import bp as openapi_bp
from api.pages import bp as pages_bp, register_error_pages
from api.portal_pages import bp as portal_bp
from api.rules import bp as rules_bp
from api.rules_pages import bp as rules_pages_bp
from api.v1 import bp as api_bp
from engine import accounts, setup
from engine.cities import available_cities, list_calendar_overrides, set_calendar_override
from engine.config import Settings
from engine.db import Database
from engine.facade import Hotline
from engine.logs import configure_logging
from engine.metrics import start_scheduler_metrics
from engine.migrate import upgrade
from engine.outbound import make_channel
from engine.scheduler import run_forever
from engine.testclock import engine_clock

ROOT = Path(__file__).resolve().parent


class BoundedInt(IntegerConverter):
    """``<int:…>`` that matches only ids a database column can hold (werkzeug's has no upper bound). The bound
    is in the pattern, at most 18 digits (below 2**63): a value refused by ``max`` after matching can make
    werkzeug answer 405 instead of 404."""
    regex = r"\d{1,18}"


def create_app(settings: Settings | None = None) -> Flask:
    settings = settings or Settings.from_env()
    app = Flask(__name__, static_folder=str(ROOT / "api" / "static"), template_folder=str(ROOT / "api" / "templates"))
    app.url_map.converters["int"] = BoundedInt      # before any route: ids beyond 64 bits are a plain 404
    app.jinja_loader = ChoiceLoader([FileSystemLoader(str(ROOT / "api" / "templates")),
                                     FileSystemLoader(str(ROOT / "forms" / "templates"))])
    app.config.update(SECRET_KEY=settings.secret_key, MAX_CONTENT_LENGTH=settings.max_upload_bytes,
                      SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Lax", JSON_AS_ASCII=False)
    app.json.ensure_ascii = False
    app.extensions["hotline_settings"] = settings
    app.extensions["hotline_db"] = Database(settings.database_url)
    if settings.report_database_url:
        from engine.replica import read_only_database
        app.extensions["hotline_report_db"] = read_only_database(settings.report_database_url)
    app.extensions["hotline_outbound"] = make_channel(settings)

    csrf = CSRFProtect(app)
    csrf.exempt(api_bp)      # the JSON API authenticates with bearer tokens, not cookies
    csrf.exempt(rules_bp)
    csrf.exempt(messages_bp)
    csrf.exempt(escalation_bp)
    csrf.exempt(admin_api_bp)
    csrf.exempt(attachments_api_bp)
    csrf.exempt(intelligence_api_bp)
    csrf.exempt(kpis_api_bp)
    csrf.exempt(reports_api_bp)
    csrf.exempt(privacy_api_bp)
    csrf.exempt(knowledge_api_bp)
    csrf.exempt(emergency_api_bp)
    csrf.exempt(open311_bp)      # Open311 clients authenticate with api_key, not cookies
    request_log.register(app)    # request ids + JSON lines; before context: its hooks then run after the commit
    metrics_api.register(app)    # GET /metrics and the request counters (also before context, same reason)
    context.register(app)
    errors.register(app)
    i18n.register(app)
    register_error_pages(app)
    security.register(app)    # headers, Secure cookies, sign-in throttling (after CSRFProtect)
    app.register_blueprint(health.bp)    # /healthz, /readyz
    app.register_blueprint(api_bp)
    app.register_blueprint(escalation_bp)
    app.register_blueprint(escalation_pages_bp)
    app.register_blueprint(emergency_api_bp)
    app.register_blueprint(emergency_pages_bp)
    app.register_blueprint(audit_pages_bp)
    app.register_blueprint(dashboard_pages_bp)
    app.register_blueprint(admin_api_bp)
    app.register_blueprint(admin_pages_bp)
    app.register_blueprint(studio_pages_bp)
    app.register_blueprint(attachments_api_bp)
    app.register_blueprint(attachment_pages_bp)
    app.register_blueprint(intelligence_api_bp)
    app.register_blueprint(intelligence_pages_bp)
    app.register_blueprint(insights_api_bp)
    app.register_blueprint(kpis_api_bp)
    app.register_blueprint(kpi_pages_bp)
    app.register_blueprint(reports_api_bp)
    app.register_blueprint(privacy_api_bp)
    app.register_blueprint(report_pages_bp)
    app.register_blueprint(insights_pages_bp)
    channels_api.register(app, csrf)   # intake API (client keys, CSRF-exempt) and /admin/channels
    upstream_api.register(app, csrf)   # upstream push + file import, webhook dead letters, /admin/webhooks
    app.register_blueprint(open311_bp)   # /open311/v2/: GeoReport v2 façade
    app.register_blueprint(knowledge_api_bp)
    app.register_blueprint(knowledge_pages_bp)
    app.register_blueprint(rules_bp)
    app.register_blueprint(messages_bp)
    app.register_blueprint(openapi_bp)
    app.register_blueprint(pages_bp)
    app.register_blueprint(portal_bp)    # /portal/: citizens without an account (CSRF-protected forms)
    app.register_blueprint(rules_pages_bp)
    register_cli(app)
    return app


def _clock_for(app):
    test_mode = app.extensions["hotline_settings"].test_clock
    return lambda session: engine_clock(session, test_mode)


def register_cli(app: Flask) -> None:
    db_group = click.Group("db", help="Database migrations.")

    @db_group.command("upgrade")
    @click.option("--revision", default="head")
    def db_upgrade(revision):
        """Apply Alembic migrations."""
        upgrade(app.extensions["hotline_settings"].database_url, revision)
        click.echo("database is at " + revision)

    city_group = click.Group("city", help="City rule sets.")

    @city_group.command("load")
    @click.option("--city", "cities", multiple=True, help="City code (default: every city in rules/).")
    def city_load(cities):
        """Load units and deploy the shipped rule set of a city."""
        db = app.extensions["hotline_db"]
        for code in cities or available_cities():
            with db.unit_of_work() as session:
                click.echo(setup.load_city_into_db(session, _clock_for(app)(session), code))

    demo_group = click.Group("demo", help="Demo data (never loaded unless asked for).")

    @demo_group.command("load")
    @click.option("--city", default="nantong")
    def demo_load(city):
        """Load a city with demo users (password 'demo') and sample tickets."""
        db = app.extensions["hotline_db"]
        with db.unit_of_work() as session:
            summary = setup.load_demo(session, _clock_for(app)(session), city)
        click.echo(summary)

    user_group = click.Group("user", help="User accounts.")

    @user_group.command("add")
    @click.argument("name")
    @click.option("--role", "roles", multiple=True, required=True, type=click.Choice(accounts.ROLES))
    @click.option("--unit", default=None)
    @click.option("--city", default=None)
    @click.option("--email", default=None, help="Address for HOTLINE_OUTBOUND=email notifications.")
    @click.option("--phone", default=None, help="Mobile number for HOTLINE_OUTBOUND=sms notifications.")
    @click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
    def user_add(name, roles, unit, city, email, phone, password):
        """Create or update a user."""
        with app.extensions["hotline_db"].unit_of_work() as session:
            accounts.add_user(session, name, password, list(roles), unit_code=unit, city=city, email=email,
                              phone=phone)
        click.echo(f"user {name} saved with roles {', '.join(roles)}")

    @app.cli.command("scheduler")
    @click.option("--once", is_flag=True, help="Run one sweep and exit.")
    def scheduler(once):
        """Run the timer scheduler process (APScheduler); run one or more beside the web workers."""
        settings = app.extensions["hotline_settings"]
        configure_logging(settings.log_format, settings.log_level)   # HOTLINE_LOG_FORMAT=json: JSON lines
        db = app.extensions["hotline_db"]
        channel = app.extensions["hotline_outbound"]
        if once:
            from engine.scheduler import sweep
            from engine.webhooks import deliver_due_webhooks
            click.echo(f"fired {sweep(db, _clock_for(app), batch=settings.scheduler_batch, channel=channel)}")
            click.echo(f"webhooks {deliver_due_webhooks(db, _clock_for(app), max_attempts=settings.webhook_max_attempts)}")
            return
        from engine.attachments import AttachmentStore
        start_scheduler_metrics(settings.scheduler_metrics_port)     # HOTLINE_SCHEDULER_METRICS_PORT
        run_forever(db, _clock_for(app), interval=settings.scheduler_interval, batch=settings.scheduler_batch,
                    channel=channel,
                    attachment_store=AttachmentStore(settings.attachment_dir, settings.max_attachment_bytes),
                    settings=settings)

    calendar_group = click.Group("calendar", help="Working-calendar overrides (holidays, make-up days).")

    @calendar_group.command("set")
    @click.argument("day", type=click.DateTime(formats=["%Y-%m-%d"]))
    @click.option("--off/--working", "off", required=True, help="--off: a holiday; --working: a make-up working day.")
    @click.option("--city", default="*", help="City code, or '*' for every city (default).")
    @click.option("--note", default=None)
    def calendar_set(day, off, city, note):
        """Enter a day that overrides the chinese_calendar package (e.g. next year's schedule)."""
        with app.extensions["hotline_db"].unit_of_work() as session:
            set_calendar_override(session, city, day.date(), not off, note)
        click.echo(f"{day.date()} {'off' if off else 'working'} for {city}")

    @calendar_group.command("list")
    @click.option("--city", default=None)
    @click.option("--year", type=int, default=None)
    def calendar_list(city, year):
        """List the overrides."""
        with app.extensions["hotline_db"].unit_of_work() as session:
            for row in list_calendar_overrides(session, city, year):
                click.echo(f"{row.day} {row.city} {'working' if row.is_working else 'off'} {row.note or ''}")

    rules_group = click.Group("rules", help="Rule-set versions: list, activate (hot swap), diff, backtest.")
    cli_admin = accounts.Principal(f"cli:{getpass.getuser()}", frozenset({"admin", "analyst", "auditor"}))

    def facade_call(fn):
        db = app.extensions["hotline_db"]
        with db.unit_of_work() as session:
            return fn(Hotline(session, _clock_for(app)(session)))

    @rules_group.command("list")
    @click.option("--city", required=True)
    def rules_list(city):
        """List a city's versions; * marks the active one."""
        for d in facade_call(lambda h: h.rule_versions(city)):
            click.echo(f"{'*' if d.active else ' '} v{d.version}  {d.created_at:%Y-%m-%d %H:%M}  {d.created_by or ''}  {d.content_hash[:12]}")

    @rules_group.command("activate")
    @click.option("--city", required=True)
    @click.option("--version", type=int, required=True)
    def rules_activate(city, version):
        """Activate a version: new tickets use it at once, running tickets keep theirs."""
        facade_call(lambda h: h.activate_version(cli_admin, city, version))
        click.echo(f"{city} v{version} is active")

    @rules_group.command("diff")
    @click.option("--city", required=True)
    @click.option("--from", "version_a", type=int, required=True)
    @click.option("--to", "version_b", type=int, required=True)
    def rules_diff(city, version_a, version_b):
        """Show the rows that changed between two versions."""
        click.echo(json.dumps(facade_call(lambda h: h.diff_versions(cli_admin, city, version_a, version_b)),
                              ensure_ascii=False, indent=2))

    @rules_group.command("backtest")
    @click.option("--city", required=True)
    @click.option("--version", type=int, required=True)
    @click.option("--days", type=int, default=30)
    def rules_backtest(city, version, days):
        """What-if: recompute deadlines and escalations of the last N days with a candidate version."""
        click.echo(json.dumps(facade_call(lambda h: h.backtest(cli_admin, city, version, days)),
                              ensure_ascii=False, indent=2))

    @app.cli.command("replay")
    @click.option("--city", required=True)
    @click.option("--since", type=click.DateTime(formats=["%Y-%m-%d"]), required=True)
    @click.option("--until", type=click.DateTime(formats=["%Y-%m-%d"]), default=None)
    def replay(city, since, until):
        """Bulk verifier: replay every ticket of a city received in [since, until) and report."""
        from datetime import timedelta
        from engine.clock import SHANGHAI
        start = since.replace(tzinfo=SHANGHAI)
        end = (until.replace(tzinfo=SHANGHAI) if until else start + timedelta(days=36500))
        reports = facade_call(lambda h: h.replay_period(cli_admin, city, start, end))
        for r in reports:
            if r["verified"]:
                status = "verified"
            elif not r["replay_verified"]:
                status = f"DIFFERS {json.dumps(r['first_difference'], ensure_ascii=False)}"
            else:
                status = f"CHAIN BROKEN {json.dumps(r['chain']['first_broken'], ensure_ascii=False)}"
            click.echo(f"{r['number']}  steps={r['steps']}  {status}")
        bad = sum(not r["verified"] for r in reports)
        click.echo(f"{len(reports)} tickets, {len(reports) - bad} verified, {bad} differ")
        if bad:
            raise SystemExit(1)

    @app.cli.command("verify-chain")
    @click.option("--city", default=None)
    def verify_chain_command(city):
        """Check the hash chain of every ticket's log and of the administrative log; print the digest."""
        result = facade_call(lambda h: h.verify_chains(cli_admin, city))
        for b in result["broken"]:
            click.echo(f"{b['number'] or b['ticket_id']}  BROKEN at seq {b['seq']} ({b['reason']})")
        if not result["admin_log"]["verified"]:
            click.echo(f"admin log BROKEN at {json.dumps(result['admin_log']['first_broken'], ensure_ascii=False)}")
        click.echo(f"{result['logs']} logs, {len(result['broken'])} broken; digest {result['digest']}")
        if not result["verified"]:
            raise SystemExit(1)

    for group in (db_group, city_group, demo_group, user_group, calendar_group, rules_group):
        app.cli.add_command(group)
    ai_cli.register(app, _clock_for(app))
    upstream_cli.register(app, _clock_for(app))
