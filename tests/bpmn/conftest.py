"""Fixtures of tests/bpmn: the lifecycle spec parsed (and schema-validated) straight from SpiffWorkflow."""
from __future__ import annotations

import pytest
from SpiffWorkflow.spiff.parser.process import VALIDATOR

from tests.bpmn.harness import parse


@pytest.fixture(scope="module")
def specs():
    # validate against the BPMN / DMN / spiffworkflow schemas as well
    return parse(validator=VALIDATOR)
