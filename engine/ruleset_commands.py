"""Rule-set administration commands of the facade: deploy, versions and hot swap, diff, migration,
the decision console, the backtest and the admin log. Mixed into ``Hotline``."""
from __future__ import annotations

from sqlalchemy import select

from forms.definitions import form_names

from . import deployments, rulesets
from .accounts import Principal
from .cities import load_city
from .errors import ValidationFailed
from .models import Deployment, Event
from .scripting import make_script_engine
from .spiff import codec_for


class RuleSetCommands:
    # -- deployments -------------------------------------------------------------------------------
    def deploy(self, actor: Principal, city: str, bpmn: dict[str, bytes], dmn: dict[str, bytes],
               activate: bool = False, form_files: dict[str, bytes] | None = None) -> tuple[Deployment, bool]:
        """Store a new immutable version; only an administrator may activate it in the same step."""
        self._require(actor, "analyst", "admin")
        if activate:
            self._require(actor, "admin")
        deployment, created = deployments.deploy(self.session, city, bpmn, dmn, actor=actor.username,
                                                 now=self.clock.now(), forms=set(form_names()),
                                                 form_files=form_files)
        if created:
            rulesets.record_admin_event(self.session, "ruleset_deployed", actor.username, self.clock.now(),
                                        {"city": city, "version": deployment.version,
                                         "content_hash": deployment.content_hash}, deployment_id=deployment.id)
        if activate and not deployment.active:
            rulesets.activate(self.session, city, deployment.version, actor=actor.username, now=self.clock.now())
        return deployment, created

    def list_deployments(self, city: str | None = None) -> list[Deployment]:
        query = select(Deployment).order_by(Deployment.city, Deployment.version.desc())
        if city:
            query = query.where(Deployment.city == city)
        return list(self.session.scalars(query))

    # -- rule-set versions (hot swap, diff, migration, console, backtest) ------------------------------
    def rule_versions(self, city: str) -> list[Deployment]:
        load_city(city)
        return rulesets.versions(self.session, city)

    def activate_version(self, actor: Principal, city: str, version: int) -> Deployment:
        self._require(actor, "admin")
        return rulesets.activate(self.session, city, version, actor=actor.username, now=self.clock.now())

    def diff_versions(self, actor: Principal, city: str, version_a: int, version_b: int) -> dict:
        self._require(actor, "analyst", "admin", "auditor")
        return rulesets.diff_versions(self.session, city, version_a, version_b)

    def migrate_tickets(self, actor: Principal, city: str, from_version: int, to_version: int, *,
                        dry_run: bool = True, ticket_ids: list[int] | None = None) -> dict:
        self._require(actor, "admin")
        if dry_run:
            return {**rulesets.migration_plan(self.session, city, from_version, to_version), "migrated": []}
        return rulesets.migrate(self.session, city, from_version, to_version, actor=actor.username,
                                now=self.clock.now(), ticket_ids=ticket_ids)

    def evaluate_decision(self, actor: Principal, city: str, decision_id: str, inputs: dict, *,
                          version: int | None = None, draft_files: dict[str, bytes] | None = None) -> dict:
        """The decision test console: a deployed version (default: active) or a draft set of DMN files."""
        self._require(actor, "analyst", "admin", "auditor")
        from .decisions import evaluate_for_console, parse_rule_files
        from .dmn import DmnError
        try:
            if draft_files:
                decisions = parse_rule_files(draft_files)
            else:
                deployment = (rulesets.get_version(self.session, city, version) if version
                              else deployments.active_deployment(self.session, city))
                decisions = codec_for(deployment).decisions
            return evaluate_for_console(decisions, decision_id, inputs, make_script_engine({}))
        except DmnError as exc:
            raise ValidationFailed(exc.message_zh, exc.message_en,
                                   details={"decision": exc.decision, "rule": exc.rule, "cell": exc.cell}) from exc

    def backtest(self, actor: Principal, city: str, version: int, days: int) -> dict:
        self._require(actor, "analyst", "admin")
        from .backtest import backtest
        return backtest(self.session, city, version, days, self.clock.now())

    def admin_log(self, actor: Principal, city: str | None = None) -> list[Event]:
        self._require(actor, "admin", "auditor", "analyst")
        return rulesets.admin_events(self.session, city)
