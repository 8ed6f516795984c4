"""Fuzz every API operation with schemathesis, once per role: no server error, answers as documented, auth enforced.

The schema is read from /api/schema/ and the requests go to Django's WSGI handler in this process, on the test
database, so the fuzzer meets the same data, permissions and middleware as a real client. The data is made up of
cases, referrals and a snapshot, and the fuzzer names them in paths and bodies some of the time, so that requests
reach real objects and not only the 404.

`schemathesis.pytest.from_fixture` would give one test per operation, but it fails under pytest 9.2 (it sets
`Node._nodeid`, which pytest no longer has), so each role's test runs every operation as a subtest.

For a deeper search, run e.g. `FUZZ_EXAMPLES=200 pytest tests/test_api_fuzz.py`.
"""

import os
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import hypothesis
import pytest
import schemathesis
from django.core.cache import cache
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, transaction
from django.http import HttpRequest, HttpResponseBase
from django.utils import timezone
from hypothesis import strategies as st
from pytest_django import DjangoDbBlocker
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    ignored_auth,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from accounts.models import User
from accounts.services import api_token_issue
from cases import services as case_services
from cases.models import Term, Vocabulary
from referrals import services as referral_services
from referrals.models import Agency
from reports.snapshots import snapshot_create

pytestmark = pytest.mark.django_db

ROLES = ["worker", "supervisor", "analyst", "administrator"]
SCHEMA_PATH = "/api/schema/"
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    ignored_auth,  # a 2xx with the token must turn into a 401/403 without it and with a wrong one
]
FUZZ = hypothesis.settings(
    max_examples=int(os.environ.get("FUZZ_EXAMPLES", "15")),  # per operation and role
    deadline=None,
    derandomize=True,  # the same requests on every run, in CI too
    database=None,
    phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate],  # a failure is reported as found, not shrunk
    suppress_health_check=[hypothesis.HealthCheck.too_slow, hypothesis.HealthCheck.filter_too_much],
)

# Who may use which part of the API; every other role must be refused there.
SCOPES = {
    "/api/v1/cases/": {"worker", "supervisor"},
    "/api/v1/referrals/": {"worker", "supervisor"},
    "/api/v1/reports/": {"supervisor", "analyst", "administrator"},
    "/api/v1/workload/": {"supervisor", "administrator"},
}


def roles_allowed(path: str) -> set[str]:
    return next((roles for prefix, roles in SCOPES.items() if path.startswith(prefix)), set(ROLES))


class SavepointHandler(WSGIHandler):
    """Django's handler, each request in a savepoint that a server error rolls back.

    The test runs in one transaction; without this, one failed query would fail every later request too.
    """

    def get_response(self, request: HttpRequest) -> HttpResponseBase:
        savepoint = transaction.savepoint()
        response = super().get_response(request)
        if response.status_code >= 500:
            transaction.savepoint_rollback(savepoint)
        else:
            transaction.savepoint_commit(savepoint)
        return response


@pytest.fixture
def wsgi_app() -> Iterator[WSGIHandler]:
    # As Django's test client does: the request signals would close the test's connection inside its transaction.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    cache.clear()  # the throttle counts start from zero
    try:
        yield SavepointHandler()
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@dataclass
class World:
    tokens: dict[str, str]
    cases: list[int]
    steps: list[tuple[int, int]]
    referrals: list[int]
    snapshots: list[int]


def term(vocabulary: str, code: str) -> Term:
    return Term.objects.get(vocabulary=vocabulary, code=code)


@pytest.fixture(scope="module")
def world(module_personas: dict[str, User], django_db_blocker: DjangoDbBlocker) -> World:
    """Cases with steps, notes, contacts and a waiting closure request, referrals with items, a snapshot: made once
    for the module, each test working in a transaction of its own."""
    with django_db_blocker.unblock():
        return make_world(module_personas)


def make_world(personas: dict[str, User]) -> World:
    worker = personas["worker"]
    cases = [
        case_services.case_open(
            actor=worker,
            facts={
                "risk_level": risk,
                "channel": term(Vocabulary.CHANNEL, "chat"),
                "sextortion_type": term(Vocabulary.SEXTORTION_TYPE, "financial"),
                "victim_age": 15,
            },
            platforms=[(term(Vocabulary.PLATFORM, "instagram"), "first_contact")],
        )
        for risk in ("high", "medium", "low")
    ]
    for case in cases:
        case_services.note_add(actor=worker, case=case, text="Called back, victim feels safer.")
        case_services.contact_add(
            actor=worker, case=case, at=timezone.now() - timedelta(hours=1), channel=term(Vocabulary.CHANNEL, "phone")
        )
    case_services.closure_request_create(
        actor=worker, case=cases[0], closure_reason=term(Vocabulary.CLOSURE_REASON, "resolved")
    )
    referrals = [
        referral_services.referral_create(
            actor=worker, case=case, kind="takedown", agency=Agency.objects.get(code="esafety"), consent="victim"
        )
        for case in cases
    ]
    for referral in referrals:
        referral_services.takedown_item_add(
            actor=worker,
            referral=referral,
            platform=term(Vocabulary.PLATFORM, "instagram"),
            link="https://instagram.com/p/abc",
            content_type="image",
        )
    snapshot = snapshot_create(organisation=worker.organisation, month=timezone.localdate().replace(day=1))
    assert snapshot is not None
    steps = [(case.pk, step.pk) for case in cases for step in case.steps.all()]
    assert steps, "the playbook gives every case some steps"
    return World(
        tokens={role: api_token_issue(user=personas[role], lifetime=timedelta(days=1)) for role in ROLES},
        cases=[case.pk for case in cases],
        steps=steps,
        referrals=[referral.pk for referral in referrals],
        snapshots=[snapshot.pk],
    )


def real_path_parameters(world: World, path: str) -> list[dict[str, int]]:
    """Path parameters naming objects that exist, so that some requests get past the 404."""
    if "{step_id}" in path:
        return [{"id": case, "step_id": step} for case, step in world.steps]
    if path.startswith("/api/v1/cases/{id}/"):
        return [{"id": pk} for pk in world.cases]
    if path.startswith("/api/v1/referrals/{id}/"):
        return [{"id": pk} for pk in world.referrals]
    if path.startswith("/api/v1/reports/snapshots/{id}/"):
        return [{"id": pk} for pk in world.snapshots]
    return []


def load_schema(app: WSGIHandler, world: World, token: str, statuses: dict[str, Counter[int]]) -> Any:
    # The schema itself is for signed-in users only.
    schema = schemathesis.openapi.from_wsgi(SCHEMA_PATH, app, headers={"Authorization": f"Token {token}"})

    @schema.hook
    def flatmap_path_parameters(context: schemathesis.HookContext, path_parameters: dict[str, Any]) -> Any:
        real = real_path_parameters(world, context.operation.path) if context.operation else []
        if not real:
            return st.just(path_parameters)
        return st.one_of(st.just(path_parameters), st.sampled_from(real).map(lambda ids: {**path_parameters, **ids}))

    @schema.hook
    def flatmap_body(context: schemathesis.HookContext, body: Any) -> Any:
        if not (isinstance(body, dict) and "case" in body):
            return st.just(body)
        return st.one_of(st.just(body), st.sampled_from(world.cases).map(lambda pk: {**body, "case": pk}))

    @schema.hook
    def after_call(context: schemathesis.HookContext, case: schemathesis.Case, response: Any) -> None:
        statuses[case.operation.label][response.status_code] += 1

    return schema


def operations(schema: Any) -> list[Any]:
    return [result.ok() for result in schema.get_all_operations()]


@pytest.mark.parametrize("role", ROLES)
def test_api_fuzz(role: str, world: World, wsgi_app: WSGIHandler, subtests: pytest.Subtests) -> None:
    token = world.tokens[role]
    statuses: dict[str, Counter[int]] = defaultdict(Counter)
    schema = load_schema(wsgi_app, world, token, statuses)
    for operation in operations(schema):
        strategy = st.one_of(
            *operation.get_strategies_from_examples(),
            *(operation.as_strategy(generation_mode=mode) for mode in GenerationMode),
        )

        @FUZZ
        @hypothesis.given(case=strategy)
        def fuzz(case: schemathesis.Case) -> None:
            case.call_and_validate(headers={"Authorization": f"Token {token}"}, checks=CHECKS)

        with subtests.test(msg=f"{role} {operation.label}"):
            fuzz()
            succeeded = any(200 <= code < 300 for code in statuses[operation.label])
            if role not in roles_allowed(operation.path):
                assert not succeeded, f"{role} got through: {dict(statuses[operation.label])}"
            elif operation.method.upper() == "GET":
                # Reads of real objects succeed: the token gets past two-factor login, the ids hit.
                assert succeeded, f"{role} never got an answer: {dict(statuses[operation.label])}"


def test_every_operation_refuses_a_missing_or_bogus_token(world: World, wsgi_app: WSGIHandler) -> None:
    schema = load_schema(wsgi_app, world, world.tokens["worker"], defaultdict(Counter))
    never_issued = "0123456789abcdef" * 4  # shaped like a real token
    for operation in operations(schema):
        security = operation.definition.raw.get("security", schema.raw_schema.get("security", []))
        assert security and {} not in security, f"{operation.label} does not declare authentication"
        real = real_path_parameters(world, operation.path)
        for authorization in [None, "Token not-a-token", f"Token {never_issued}", "Bearer x"]:
            headers = {} if authorization is None else {"Authorization": authorization}
            case = operation.Case(path_parameters=real[0] if real else {}, headers=headers)
            response = case.call()
            assert response.status_code in (401, 403), f"{operation.label} with {authorization!r}"
            case.validate_response(
                response, checks=[status_code_conformance, content_type_conformance, response_schema_conformance]
            )
