"""Schemathesis drives every documented operation with generated input, one by one and in
chains linked through the ids answers carry: no 5xx, and every answer matches what the OpenAPI
document promises."""

from __future__ import annotations

import copy

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from porfin_adapters.container import create_container
from porfin_adapters.settings import Settings, StorageKind
from porfin_http.app import create_app

pytestmark = pytest.mark.slow

TOKEN = "fuzz-token"


def _app(data_dir, storage=StorageKind.SQLITE):
    # Thousands of requests with one token: a limit they never reach (429s would be documented
    # answers, but they would stop the fuzzer from reaching the handlers).
    settings = Settings(
        storage=storage,
        data_dir=data_dir,
        admin_token=TOKEN,
        rate_limit_per_minute=1_000_000,
        auth_rate_limit_per_minute=1_000_000,
    )
    container = create_container(settings)
    application = create_app(container)
    application.state.test_container = container
    return application


def _tables(app):
    """The memory store's tables behind ``app`` (a memory installation)."""
    return app.state.test_container.storage().uow_factory.store.tables


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    return _app(tmp_path_factory.mktemp("fuzz"))


schema = schemathesis.pytest.from_fixture("openapi")
EXCLUDED_CHECKS = [
    schemathesis.checks.negative_data_rejection,
    schemathesis.checks.allow_header_conformance,
    schemathesis.checks.positive_data_acceptance,
]


@pytest.fixture(scope="module")
def openapi(app):
    return schemathesis.openapi.from_asgi("/schema/openapi.json", app)


@schema.parametrize()
@settings(max_examples=30, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
def test_every_operation_answers_as_documented(case):
    case.call_and_validate(
        headers={"Authorization": f"Bearer {TOKEN}"},
        # Litestar's automatic OPTIONS answer lists only the first handler registered on a
        # path (GET, not PATCH, on /chats/{id}); OPTIONS is not part of Porfin's contract.
        # Schema-valid requests are refused by design when they name unknown ids (404), break a
        # rule (422: a pause in the past) or carry fields the API does not know (400: bodies
        # are strict, so typos never pass silently). Unknown query parameters are ignored, as
        # HTTP APIs do; invalid values of known ones are refused (tests/e2e/test_http_errors.py).
        excluded_checks=EXCLUDED_CHECKS,
    )


@pytest.fixture(scope="module")
def state_machine(tmp_path_factory):
    """Sequences of calls chained by the links Schemathesis infers from the document (an
    invitation's user id to ``/users/{user_id}``, an upload's id to ``/media/{media_id}``, a
    created channel to ``/channels/{channel_id}``...), so generated requests reach real
    resources instead of 404s.

    Every scenario starts from the same records (a fresh memory installation): links drawn
    from lists (``GET /channels`` -> ``DELETE /channels/{id}``) make what Hypothesis draws
    depend on what the server holds, and Hypothesis refuses draws that differ for the same
    choices ("flaky strategy")."""
    app = _app(tmp_path_factory.mktemp("fuzz-stateful"), StorageKind.MEMORY)
    openapi = schemathesis.openapi.from_asgi("/schema/openapi.json", app)
    base = openapi.as_state_machine()
    first_state: dict = {}

    class PorfinStateMachine(base):  # type: ignore[misc, valid-type]
        def setup(self):
            tables = _tables(app)
            if not first_state and tables["clinics"]:
                first_state.update(copy.deepcopy(tables))
            elif first_state:
                for name, rows in copy.deepcopy(first_state).items():
                    tables[name] = rows

        def get_call_kwargs(self, case):
            return {"headers": {"Authorization": f"Bearer {TOKEN}"}}

        def validate_response(self, response, case, additional_checks=(), **kwargs):
            case.validate_response(response, excluded_checks=EXCLUDED_CHECKS)

    return PorfinStateMachine


def test_chained_operations_answer_as_documented(state_machine):
    links = state_machine.schema.as_state_machine().bundles
    assert links, "no links between operations: the stateful phase would test nothing"
    state_machine.run(
        settings=settings(
            max_examples=80,
            stateful_step_count=8,
            deadline=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
        )
    )
