"""Reading a workflow's user tasks the way the diagram declares them: name, properties, role, unit.

User tasks carry spiffworkflow properties: ``form``, ``role``, ``unit_scoped`` and optionally
``role_from`` (a variable naming the approver level or role), ``unit_from`` (the variable, or element of
a multi-instance collection, holding the unit), ``due`` (the deadline variable, ``a.b`` allowed) and
``subject_from`` (the linked ticket a case's task is about).
"""
from __future__ import annotations

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState

# Approver levels that decision tables name, and the role that acts on them.
APPROVER_ROLES = {"deputy": "leader", "principal": "principal"}


def user_task_properties(task) -> dict:
    return (getattr(task.task_spec, "extensions", None) or {}).get("properties", {})


def ready_user_tasks(workflow: BpmnWorkflow) -> list:
    return [t for t in workflow.get_tasks(state=TaskState.READY) if t.task_spec.manual]


def task_name(task) -> str:
    """The BPMN id of a task; the instances of a multi-instance task share it."""
    return getattr(task.task_spec, "bpmn_id", None) or task.task_spec.name


def lookup(data: dict, path: str | None):
    """``a.b`` reads data["a"]["b"]: a task property may point into an element of a collection."""
    if not path:
        return None
    value = data
    for part in path.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def task_unit(task, props: dict) -> str | None:
    if props.get("unit_scoped") != "true":
        return None
    if props.get("unit_from"):
        value = lookup(task.data, props["unit_from"])
        return value.get("unit") if isinstance(value, dict) else value
    return task.data.get("unit")


def task_role(task, props: dict) -> str:
    level = lookup(task.data, props.get("role_from"))
    if isinstance(level, str) and level:
        return APPROVER_ROLES.get(level, level)
    return props.get("role", "dispatcher")
