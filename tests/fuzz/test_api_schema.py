"""Fuzz the JSON API from its own OpenAPI schema (schemathesis) on a real `jam serve`.

Requests are signed in, as an organizer, a leader and a participant in turn, to a real,
open jam and aimed at its real jam and idea, so they get past authentication and lookups
to the commands and reads behind them (each role reaches the ones it may use, and the
others' refusals). No answer may be a server error, and every answer, refusals included, must be one
the schema documents for its operation, in status and body.
OPENJAM_FUZZ_EXAMPLES sets the examples per operation (default 10).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from uuid import uuid4

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.specs.openapi.checks import (
    response_schema_conformance,
    status_code_conformance,
)

from jam import commands as c
from jam.application import JamApplication
from jam.settings import Settings
from tests.reliability.checks import Now, sign_in
from tests.stories import open_jam
from tests.ui.harness import web_worker

pytestmark = pytest.mark.slow

EXAMPLES = int(os.environ.get("OPENJAM_FUZZ_EXAMPLES", "10"))


ROLES = ("organizer", "leader", "participant")


class Target:
    def __init__(self, base: str, tokens: dict[str, str], jam_id: str, idea_id: str) -> None:
        self.base, self.tokens, self.jam_id, self.idea_id = base, tokens, jam_id, idea_id


@pytest.fixture(scope="module")
def target(tmp_path_factory) -> Iterator[Target]:
    root = tmp_path_factory.mktemp("fuzz")
    app = JamApplication(Settings(data_dir=root / "var"))
    scene = open_jam(app, Now())  # type: ignore[arg-type]
    ada = scene.join()
    idea = scene.post_idea(ada)
    for role in ROLES:
        app.handle(c.IssueInvite(code=f"fuzz-{role}", role=role, jam_id=scene.jam_id))
    app.close()
    env = {"OPENJAM_WRITES_PER_MINUTE": "100000", "OPENJAM_READ_WAIT_MS": "50"}
    with web_worker(root, env) as base:
        tokens = {role: sign_in(base, f"fuzz-{role}") for role in ROLES}
        yield Target(base, tokens, str(scene.jam_id), str(idea))


def _not_caught_up(response) -> bool:
    """`?after=` a position the log has not reached: a documented 503, not a failure."""
    return response.status_code == 503 and "not reached log position" in response.text


def _fuzz(operation, target: Target, role: str) -> None:
    # The organizer, who may use nearly every operation, gets the most examples.
    examples = EXAMPLES if role == "organizer" else max(1, EXAMPLES // 2)

    @given(case=operation.as_strategy())
    @settings(max_examples=examples, deadline=None, suppress_health_check=list(HealthCheck))
    def check(case) -> None:
        for name, real in (("jam_id", target.jam_id), ("idea_id", target.idea_id)):
            if case.path_parameters and name in case.path_parameters:
                case.path_parameters[name] = real
        token = target.tokens[role]
        headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": uuid4().hex}
        response = case.call(base_url=target.base, headers=headers)
        assert response.status_code < 500 or _not_caught_up(response), (
            f"as {role}: {case.method} {case.formatted_path} -> {response.status_code}:"
            f" {response.text[:500]}"
        )
        case.validate_response(
            response, checks=[response_schema_conformance, status_code_conformance]
        )

    check()


@pytest.mark.parametrize("role", ROLES)
def test_no_request_gets_a_server_error_or_an_answer_outside_the_schema(target, role):
    schema = schemathesis.openapi.from_url(f"{target.base}/schema/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    fuzzed = [op for op in operations if not op.path.endswith("/stream")]  # streams never end
    assert len(fuzzed) > 20
    for operation in fuzzed:
        _fuzz(operation, target, role)
