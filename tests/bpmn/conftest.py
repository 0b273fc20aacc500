"""Fixtures of tests/bpmn: the specs parsed (and schema-validated) straight from SpiffWorkflow."""
from __future__ import annotations

import pytest
from SpiffWorkflow.spiff.parser.process import VALIDATOR

from tests.bpmn.harness import parse


@pytest.fixture(scope="module")
def specs():
    # validate against the BPMN / DMN / spiffworkflow schemas as well
    return parse(validator=VALIDATOR)


@pytest.fixture(scope="module")
def supervision_specs():
    """bpmn/supervision.bpmn on Nantong's supervision_policy."""
    return parse(validator=VALIDATOR, process_id="supervision")


@pytest.fixture(scope="module")
def suzhou_supervision_specs():
    """bpmn/supervision.bpmn on Suzhou's (宿州) supervision_policy: 001 附件3, where the three tiers come from."""
    return parse(validator=VALIDATOR, process_id="supervision", city="suzhou_ah")


@pytest.fixture(scope="module")
def consultation_specs():
    return parse(validator=VALIDATOR, process_id="consultation")
