"""schemathesis against /api/v1/openapi.json, in-process: no 500, and no answer outside the documented schema.

Every operation is fuzzed as a signed-in member (bearer token), with schema-valid inputs and with inputs
that break the schema (those must still get a documented error, never a 500).
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.specs.openapi.checks import negative_data_rejection

from forum.extensions import db
from forum.services import accounts
from tests.conftest import bearer

EXAMPLES = {GenerationMode.POSITIVE: 15, GenerationMode.NEGATIVE: 10}
# "No 500 and nothing outside the schema", plus: input that breaks the schema is refused. Not checked:
# schemathesis' "schema-valid input is accepted", since a valid-looking pseudonym can still be taken, or
# equal to its password; those answers are documented 409/422s.
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
NEGATIVE_CHECKS = [*CHECKS, negative_data_rejection]


def _operations(app: Flask) -> list[Any]:
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    return [result.ok() for result in schema.get_all_operations()]


def _fuzz(operation: Any, mode: GenerationMode, headers: dict[str, str]) -> None:
    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=EXAMPLES[mode], deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
    def run(case: Any) -> None:
        try:
            case.call_and_validate(
                headers=headers, checks=NEGATIVE_CHECKS if mode is GenerationMode.NEGATIVE else CHECKS
            )
        finally:
            # A real server starts each request with a fresh session; the test's app context must too.
            db.session.remove()

    run()


@pytest.mark.parametrize("mode", list(EXAMPLES), ids=lambda mode: mode.value)
def test_every_api_operation_answers_within_its_schema_and_never_500(app: Flask, mode: GenerationMode) -> None:
    token = accounts.issue_token(accounts.register("fuzzer", "correct horse battery"))
    operations = _operations(app)
    assert len(operations) >= 8, "the OpenAPI document lists the API's operations"
    failures = []
    for operation in operations:
        try:
            _fuzz(operation, mode, bearer(token))
        except Unsatisfiable:
            continue  # nothing to break: an operation without parameters or body has no negative cases
        except BaseException as error:  # collect every operation's failure, not just the first
            if isinstance(error, KeyboardInterrupt):
                raise
            failures.append(f"{operation.label}: {type(error).__name__}: {str(error)[:1500]}")
    assert failures == [], "\n\n".join(failures)
