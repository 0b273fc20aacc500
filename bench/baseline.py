"""Raw in-memory SpiffWorkflow running the same diagram and rules: no database, no event log,
no mirroring, no serialization. It is the floor the persisted figures are compared with."""
from __future__ import annotations

from datetime import datetime
from types import SimpleNamespace

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState

from engine.calendar import WorkingCalendar
from engine.cities import LIFECYCLE_PROCESS, lifecycle_files, load_city, rule_files
from engine.clock import Clock
from engine.intake import lifecycle_start_data
from engine.runtime import ready_user_tasks, script_functions
from engine.scripting import make_script_engine
from engine.spiff import parse_diagrams
from forms.definitions import load_form

from .databases import CITY
from .stats import Sample
from .workloads import DISPATCH_DATA, SIGN_DATA

BACKEND = "memory"


def start_data(i: int, received_at: str) -> dict:
    """What ``Hotline.start_ticket`` puts on the start task for a Nantong phone complaint."""
    ticket = SimpleNamespace(id=i, city=CITY, channel="phone_12345", request_type="complaint",
                             title=f"夜间施工噪音扰民 #{i}", received_at=datetime.fromisoformat(received_at),
                             category=None)   # as a phone intake without a category
    return lifecycle_start_data(ticket)


def form_data(task_name: str, data: dict) -> dict:
    """What ``Hotline.complete_task`` hands the workflow: the form's values with its defaults."""
    form = load_form(task_name)
    cleaned, errors = form.validate(data, {u["code"] for u in load_city(CITY).units})
    if errors:
        raise ValueError(errors)
    return form.apply_defaults(cleaned)


class RawSpiff:
    def __init__(self, clock: Clock):
        city = load_city(CITY)
        self.clock = clock
        self.parsed = parse_diagrams(lifecycle_files(), rule_files(CITY), LIFECYCLE_PROCESS)
        # No calendar overrides: the fresh benchmark databases have none either.
        self.engine = make_script_engine(script_functions(clock, WorkingCalendar(city.working_hours, {})))
        self.engine.clock = clock

    def start(self, i: int) -> BpmnWorkflow:
        workflow = BpmnWorkflow(self.parsed.spec, self.parsed.subprocess_specs, script_engine=self.engine)
        data = start_data(i, self.clock.now().isoformat())
        for task in workflow.get_tasks(state=TaskState.READY):
            task.data.update(data)
        workflow.do_engine_steps()
        return workflow

    @staticmethod
    def complete(workflow: BpmnWorkflow, task_name: str, data: dict) -> None:
        task = ready_user_tasks(workflow)[0]
        if task.task_spec.name != task_name:
            raise RuntimeError(f"ready task is {task.task_spec.name!r}, expected {task_name!r}")
        task.data.update(form_data(task_name, data))
        task.run()
        workflow.do_engine_steps()


def _ready_name(workflow: BpmnWorkflow) -> str | None:
    ready = ready_user_tasks(workflow)
    return ready[0].task_spec.name if ready else None


def run_baseline(clock: Clock, tickets: int, warmup: int = 0) -> tuple[dict[str, Sample], list[BpmnWorkflow]]:
    raw = RawSpiff(clock)
    for i in range(warmup):
        workflow = raw.start(-1 - i)
        raw.complete(workflow, "dispatch", DISPATCH_DATA)
        raw.complete(workflow, "sign", SIGN_DATA)
    samples = {op: Sample(op, BACKEND) for op in ("intake", "dispatch", "sign")}
    workflows = []
    for i in range(tickets):
        with samples["intake"].timed():
            workflow = raw.start(i + 1)
        workflows.append(workflow)
    for operation, next_task in (("dispatch", "sign"), ("sign", "handle")):
        data = DISPATCH_DATA if operation == "dispatch" else SIGN_DATA
        for workflow in workflows:
            with samples[operation].timed():
                raw.complete(workflow, operation, data)
            if _ready_name(workflow) != next_task:
                raise RuntimeError(f"after {operation} the ready task is {_ready_name(workflow)!r}")
    if any(_ready_name(w) != "handle" for w in workflows):
        raise RuntimeError("baseline workflows did not reach handle")
    return samples, workflows
