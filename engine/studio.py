"""The analyst studio's commands: a city's rule-set files (active version plus drafts), drafts saved and
validated without deploying, downloads for Camunda Modeler, and deploying the drafts as a new (inactive)
version. Mixed into ``Hotline``."""
from __future__ import annotations

import re

from sqlalchemy import select

from forms.definitions import FORM_SUFFIX, DefinitionError, form_from_text, form_names, repo_form_text

from . import deployments
from .accounts import Principal
from .errors import DeploymentInvalid, NotFound, ValidationFailed
from .models import Deployment, Draft
from .rulesets import record_admin_event

STUDIO_ROLES = ("analyst", "admin")
FILE_NAME = re.compile(r"^[a-z][a-z0-9_]{0,100}\.(bpmn|dmn|form\.json)$")
FORM_PROPERTY = re.compile(r'<spiffworkflow:property name="form" value="([a-z0-9_]+)"')


def kind_of(name: str) -> str:
    return "form" if name.endswith(FORM_SUFFIX) else name.rsplit(".", 1)[1]


def _split(files: dict[str, str]) -> tuple[dict[str, bytes], dict[str, bytes], dict[str, bytes]]:
    bpmn = {n: t.encode("utf-8") for n, t in files.items() if n.endswith(".bpmn")}
    dmn = {n: t.encode("utf-8") for n, t in files.items() if n.endswith(".dmn")}
    forms = {n: t.encode("utf-8") for n, t in files.items() if n.endswith(FORM_SUFFIX)}
    return bpmn, dmn, forms


class StudioCommands:
    def _check_name(self, name: str) -> None:
        if not FILE_NAME.match(name or ""):
            raise ValidationFailed("文件名须为小写字母、数字和下划线，扩展名 .bpmn、.dmn 或 .form.json",
                                   "File names are lowercase letters, digits and _ ending in .bpmn, .dmn or .form.json",
                                   details={"name": [name]})

    def _drafts(self, city: str) -> dict[str, Draft]:
        return {d.name: d for d in self.session.scalars(select(Draft).where(Draft.city == city))}

    def _working_set(self, city: str) -> tuple[Deployment, dict[str, str]]:
        """The active version's files with the city's drafts laid over them."""
        active = deployments.active_deployment(self.session, city)
        files = dict(active.files or {})
        files.update({name: d.content for name, d in self._drafts(city).items()})
        return active, files

    def studio_files(self, actor: Principal, city: str) -> dict:
        self._require(actor, *STUDIO_ROLES)
        active = deployments.active_deployment(self.session, city)
        drafts = self._drafts(city)
        builtin = {f"{n}{FORM_SUFFIX}" for n in form_names()}      # repository forms the version does not override
        names = sorted(set(active.files or {}) | set(drafts) | builtin)
        return {"city": city, "active_version": active.version, "files": [
            {"name": n, "kind": kind_of(n), "draft": n in drafts, "in_active": n in (active.files or {}),
             "builtin": n not in (active.files or {}) and n not in drafts,
             "updated_by": drafts[n].updated_by if n in drafts else active.created_by,
             "updated_at": (drafts[n].updated_at if n in drafts else active.created_at).isoformat()} for n in names]}

    def studio_file(self, actor: Principal, city: str, name: str) -> dict:
        self._require(actor, *STUDIO_ROLES)
        self._check_name(name)
        active, files = self._working_set(city)
        content = files.get(name)
        if content is None and name.endswith(FORM_SUFFIX):
            try:
                content = repo_form_text(name[: -len(FORM_SUFFIX)])
            except KeyError:
                content = None
        if content is None:
            raise NotFound("文件不存在", "No such file")
        kind = kind_of(name)
        forms = sorted(set(FORM_PROPERTY.findall(content))) if kind == "bpmn" else []
        return {"city": city, "name": name, "kind": kind, "content": content, "forms": forms,
                "draft": name in self._drafts(city), "active_version": active.version}

    def save_draft(self, actor: Principal, city: str, name: str, content: str) -> Draft:
        """Keep an edited file; it must be well-formed, DTD-free XML within the size limit."""
        self._require(actor, *STUDIO_ROLES)
        self._check_name(name)
        if name.endswith(FORM_SUFFIX):
            try:
                form_from_text(name[: -len(FORM_SUFFIX)], content or "")
            except DefinitionError as exc:
                raise DeploymentInvalid(details=[{"file": name, "element": None, "code": "form_invalid",
                                                  "message_zh": f"表单定义有误：{exc}",
                                                  "message_en": f"Invalid form: {exc}"}]) from exc
        else:
            errors = deployments._check_xml({name: (content or "").encode("utf-8")})
            if errors:
                raise DeploymentInvalid(details=errors)
        active = deployments.active_deployment(self.session, city)
        draft = self._drafts(city).get(name) or Draft(city=city, name=name, base_version=active.version)
        draft.content, draft.updated_by, draft.updated_at = content, actor.username, self.clock.now()
        self.session.add(draft)
        self.session.flush()
        record_admin_event(self.session, "draft_saved", actor.username, self.clock.now(),
                           {"city": city, "name": name, "base_version": draft.base_version})
        return draft

    def discard_draft(self, actor: Principal, city: str, name: str) -> None:
        self._require(actor, *STUDIO_ROLES)
        draft = self._drafts(city).get(name)
        if draft is None:
            raise NotFound("没有该草稿", "No such draft")
        self.session.delete(draft)
        record_admin_event(self.session, "draft_discarded", actor.username, self.clock.now(), {"city": city, "name": name})

    def validate_files(self, actor: Principal, city: str, name: str, content: str) -> dict:
        """Validate the working set with this file as given (not saved): every deployment check runs."""
        self._require(actor, *STUDIO_ROLES)
        self._check_name(name)
        _, files = self._working_set(city)
        files[name] = content
        bpmn, dmn, forms = _split(files)
        try:
            deployments.validate(bpmn, dmn, forms=set(form_names()), form_files=forms)
        except DeploymentInvalid as exc:
            return {"valid": False, "errors": exc.details or []}
        return {"valid": True, "errors": []}

    def deploy_drafts(self, actor: Principal, city: str) -> Deployment:
        """The active files with every draft of the city become a new inactive version; drafts are cleared."""
        self._require(actor, *STUDIO_ROLES)
        drafts = self._drafts(city)
        if not drafts:
            raise ValidationFailed("没有待部署的草稿", "There are no drafts to deploy", details={"drafts": []})
        _, files = self._working_set(city)
        bpmn, dmn, forms = _split(files)
        deployment, _created = self.deploy(actor, city, bpmn, dmn, form_files=forms)
        for draft in drafts.values():
            self.session.delete(draft)
        return deployment
