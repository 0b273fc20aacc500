"""Where a ticket's instance stands on its diagram: the BPMN file of its process in the pinned
deployment, the elements it has completed and the ones holding a token now (for bpmn-js)."""
from __future__ import annotations

from lxml import etree
from SpiffWorkflow.util.task import TaskState

from .models import Deployment
from .spiff import SAFE_XML

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"


_FILES: dict[tuple[str, str], tuple[str, str] | None] = {}   # deployments are immutable: cache by content


def process_file(deployment: Deployment, process: str) -> tuple[str, str] | None:
    """(file name, XML) of the deployment's BPMN file that defines the process."""
    key = (deployment.content_hash, process)
    if key not in _FILES:
        _FILES[key] = None
        for name, text in sorted((deployment.files or {}).items()):   # the deferred column loads only here
            if name.endswith(".bpmn") and etree.fromstring(text.encode("utf-8"), SAFE_XML).find(
                    f"{{{BPMN_NS}}}process[@id='{process}']") is not None:
                _FILES[key] = (name, text)
                break
    return _FILES[key]


def token_state(workflow) -> dict:
    """Element ids completed so far (in order, once each) and those waiting now (ready or waiting tasks)."""
    completed, active = [], []
    for task in workflow.get_tasks():
        element = getattr(task.task_spec, "bpmn_id", None)
        if not element:
            continue                       # the library's own start/end bookkeeping tasks
        if task.state == TaskState.COMPLETED and element not in completed:
            completed.append(element)
        elif task.state in (TaskState.READY, TaskState.WAITING, TaskState.STARTED) and element not in active:
            active.append(element)
    return {"completed": completed, "active": active}
