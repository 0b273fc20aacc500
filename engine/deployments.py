"""Deploying a city's diagrams and rule tables: validate, store once per content hash, version.

Everything a diagram can execute (scripts, gateway conditions, timer expressions, DMN cells) is
checked with the restricted compiler before anything is stored; a failing file blocks deployment
and every error is reported with the element it belongs to.
"""
from __future__ import annotations

import hashlib
from datetime import datetime

from lxml import etree
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from .cities import LIFECYCLE_PROCESS, load_city
from .forms_registry import check_form_files, known_form_names
from .errors import DeploymentInvalid, NotFound
from .models import Deployment
from .decisions import parse_rule_files
from .dmn import DmnError, lint
from .scripting import check_expression, check_script
from .spiff import SAFE_XML, SERIALIZER_VERSION, SPIFF_VERSION, iter_task_specs, parse_diagrams, serialize_spec

MAX_FILE_BYTES = 2 * 1024 * 1024
# Roles a user task may name (a role_from variable may still pick another role at run time).
TASK_ROLES = {"dispatcher", "handler", "leader", "principal", "callback", "operator", "supervisor", "inspector",
              "city_leader"}
BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"


def content_hash(city: str, files: dict[str, bytes]) -> str:
    """Identity of a deployment: the city and every file. Two cities with the same files (Rugao that
    overrides nothing of Nantong) still get a deployment each."""
    digest = hashlib.sha256(city.encode() + b"\0")
    for name in sorted(files):
        digest.update(name.encode() + b"\0" + hashlib.sha256(files[name]).digest())
    return digest.hexdigest()


def _error(file, element, code, zh, en):
    return {"file": file, "element": element, "code": code, "message_zh": zh, "message_en": en}


def _check_xml(files: dict[str, bytes]) -> list[dict]:
    errors = []
    for name, data in files.items():
        if len(data) > MAX_FILE_BYTES:
            errors.append(_error(name, None, "file_too_large", "文件过大（上限2MB）", "File larger than 2 MB"))
            continue
        if b"<!DOCTYPE" in data or b"<!ENTITY" in data:
            errors.append(_error(name, None, "dtd_forbidden", "不允许DTD或实体声明", "DTDs and entities are not allowed"))
            continue
        try:
            etree.fromstring(data, SAFE_XML)
        except etree.XMLSyntaxError as exc:
            errors.append(_error(name, None, "xml_syntax", f"XML格式错误：{exc}", f"Malformed XML: {exc}"))
    return errors


def _check_code(parsed, forms) -> list[dict]:
    """Every piece of code in the parsed spec, compiled with the restricted compiler."""
    errors = []

    def check(kind, element, source, checker):
        for message in checker(source):
            errors.append(_error(None, element, f"unsafe_{kind}", f"{element}：{kind}不允许：{message}",
                                 f"{element}: {kind} refused: {message}"))

    for spec in iter_task_specs(parsed):
        element = spec.name
        script = getattr(spec, "script", None)
        if script:
            check("script", element, script, check_script)
        for attr in ("prescript", "postscript"):
            if getattr(spec, attr, None):
                check("script", element, getattr(spec, attr), check_script)
        for condition, _target in getattr(spec, "cond_task_specs", None) or []:
            source = getattr(condition, "args", [None])[0] if condition is not None else None
            if isinstance(source, str):
                check("condition", element, source, check_expression)
        definition = getattr(spec, "event_definition", None)
        if getattr(definition, "expression", None):
            check("timer", element, definition.expression, check_expression)
        if spec.manual:
            props = (getattr(spec, "extensions", None) or {}).get("properties", {})
            form = props.get("form")
            if not form or form not in forms:
                errors.append(_error(None, element, "unknown_form", f"{element}：表单“{form}”不存在",
                                     f"{element}: form {form!r} does not exist"))
            if props.get("role") not in TASK_ROLES:
                errors.append(_error(None, element, "unknown_role", f"{element}：角色“{props.get('role')}”无效",
                                     f"{element}: invalid role {props.get('role')!r}"))
    return errors


def _legacy_python_ok(text: str) -> bool:
    """A legacy SpiffWorkflow (Python) cell is acceptable only if the restricted compiler accepts it."""
    return not check_expression(text) or not check_expression(f"dmninputexpr {text}")


def _check_decisions(dmn: dict[str, bytes]) -> tuple[dict, list[dict]]:
    """Parse every DMN file with the standard engine and lint it; errors block the deployment.
    Returns the parsed decisions too, so the diagram parser does not parse the files again."""
    try:
        decisions = parse_rule_files(dmn)
    except DmnError as exc:
        return {}, [_error(None, exc.decision, "dmn_error", exc.message_zh, exc.message_en)]
    errors = []
    for issue in lint(decisions, python_ok=_legacy_python_ok):
        if issue.severity == "error":
            where = {"rule": issue.rule, "cell": issue.cell}
            errors.append({**_error(decisions[issue.decision].file if issue.decision in decisions else None,
                                    issue.decision, f"dmn_{issue.code}", issue.message_zh, issue.message_en), **where})
    return decisions, errors


def validate(bpmn: dict[str, bytes], dmn: dict[str, bytes], forms: set[str],
             process_id: str = LIFECYCLE_PROCESS, form_files: dict[str, bytes] | None = None):
    """Every check a deployment passes (XML safety and size, DMN lint, parsing, restricted code, forms and
    roles); raises DeploymentInvalid with every error found at the first failing stage, else returns the
    parsed diagrams. The studio calls it to validate a draft without storing anything."""
    files = {**bpmn, **dmn}
    errors = _check_xml(files)
    texts = {n: d.decode("utf-8", errors="replace") for n, d in (form_files or {}).items()}
    errors += [_error(name, None, "form_invalid", f"表单定义有误：{problem}", f"Invalid form: {problem}")
               for name, problem in check_form_files(texts)]
    if errors:
        raise DeploymentInvalid(details=errors)
    forms = set(forms) | known_form_names(texts)
    decisions, errors = _check_decisions(dmn)
    if errors:
        raise DeploymentInvalid(details=errors)
    try:
        parsed = parse_diagrams(bpmn, dmn, process_id, decisions=decisions)
    except Exception as exc:   # the parser reports many kinds of problems; all mean "invalid upload"
        raise DeploymentInvalid(details=[_error(None, getattr(exc, "id", None), "parse_error",
                                                f"解析失败：{exc}", f"Parse failed: {exc}")]) from exc
    errors = _check_code(parsed, forms)
    if errors:
        raise DeploymentInvalid(details=errors)
    return parsed


def deploy(session: Session, city: str, bpmn: dict[str, bytes], dmn: dict[str, bytes], *, actor: str | None,
           now: datetime, forms: set[str],
           process_id: str = LIFECYCLE_PROCESS, form_files: dict[str, bytes] | None = None) -> tuple[Deployment, bool]:
    """Validate and store an (inactive) version. Returns (deployment, created); identical content is stored once.
    ``form_files`` are the deployment's own task forms (``<name>.form.json``)."""
    load_city(city)
    files = {**bpmn, **dmn, **(form_files or {})}
    if not bpmn:
        raise DeploymentInvalid(details=[_error(None, None, "no_bpmn", "至少需要一个BPMN文件", "At least one BPMN file is required")])
    digest = content_hash(city, files)
    existing = session.scalar(select(Deployment).where(Deployment.content_hash == digest))
    if existing is not None:
        return existing, False      # the same files were validated when they were first stored
    parsed = validate(bpmn, dmn, forms, process_id, form_files)
    version = (session.scalar(select(func.max(Deployment.version)).where(Deployment.city == city)) or 0) + 1
    deployment = Deployment(city=city, version=version, content_hash=digest, process_id=process_id,
                            serializer_version=SERIALIZER_VERSION, spiff_version=SPIFF_VERSION,
                            files={name: data.decode("utf-8") for name, data in files.items()},
                            spec_json=serialize_spec(parsed), active=False, created_by=actor, created_at=now)
    session.add(deployment)
    session.flush()
    return deployment, True


def active_deployment(session: Session, city: str) -> Deployment:
    deployment = session.scalar(select(Deployment).where(Deployment.city == city, Deployment.active.is_(True)))
    if deployment is None:
        raise NotFound(f"城市 {city} 尚未部署流程", f"No active deployment for city {city!r}")
    return deployment
