"""Which task forms a deployment uses: the repository's definitions (forms/definitions/*.json), overlaid
by the deployment's own ``<name>.form.json`` files, which an analyst edits in the studio. A ticket keeps the
forms of the version it runs on, like its diagram and rules."""
from __future__ import annotations

from forms.definitions import FORM_SUFFIX, DefinitionError, FormDefinition, form_from_text, form_names, load_form

_CACHE: dict[str, dict[str, FormDefinition]] = {}


def form_files(files: dict[str, str]) -> dict[str, str]:
    """form name -> JSON text of the deployment files that are forms."""
    return {n[: -len(FORM_SUFFIX)]: t for n, t in files.items() if n.endswith(FORM_SUFFIX)}


def check_form_files(files: dict[str, str]) -> list[tuple[str, str]]:
    """(file, problem) for every form file that does not load."""
    problems = []
    for name, text in form_files(files).items():
        try:
            form_from_text(name, text)
        except DefinitionError as exc:
            problems.append((name + FORM_SUFFIX, str(exc)))
    return problems


def known_form_names(files: dict[str, str]) -> set[str]:
    return set(form_names()) | set(form_files(files))


def deployment_form(deployment, name: str) -> FormDefinition:
    """The form ``name`` as the deployment has it (its own file, else the repository's)."""
    forms = _CACHE.get(deployment.content_hash)
    if forms is None:
        # Only deployments with form files need their (deferred) files column read.
        own = form_files(deployment.files or {}) if deployment.files and any(
            n.endswith(FORM_SUFFIX) for n in deployment.files) else {}
        forms = _CACHE[deployment.content_hash] = {n: form_from_text(n, t) for n, t in own.items()}
    return forms.get(name) or load_form(name)
