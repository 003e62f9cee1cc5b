"""Schemathesis against the API served on 127.0.0.1 by a real server thread, with a real token of each role.

For every operation of /api/v1/openapi.json, valid (positive) and invalid
(negative) requests are generated from the description and every answer is
checked by all of Schemathesis's checks: no 5xx, status codes, content types,
headers and bodies as described, invalid input refused, a 401 without the
token. The number of examples is bounded and generation is derandomized, so
a run is reproducible and takes well under a minute on SQLite.
"""
from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings

from tests.api.test_api import build_world
from tests.live import LiveServer

ROLES = ("donor", "staff", "manager", "admin")
#: Examples per operation and role: valid requests, then invalid ones (25 in all).
EXAMPLES = {schemathesis.GenerationMode.POSITIVE: 15, schemathesis.GenerationMode.NEGATIVE: 10}
#: A valid request may still be 422: a period whose end comes before its start (both dates are valid dates).
CONFIG = schemathesis.Config.from_dict({
    "checks": {"positive_data_acceptance": {"expected-statuses": ["2xx", "401", "403", "404", "422"]}},
})
#: What a donor's token may be answered with by an operation that shows records (never a 2xx).
DONOR_DENIED = {403, 404, 400, 401, 405, 406, 422, 429}
#: Operations whose permission a donor does not hold: the description says who may read them.
RECORD_OPERATIONS = {"listProjects", "listChildrenAtRisk", "listDisbursements", "getPlan"}


@pytest.fixture
def live_server(make_app):
    # No SERVER_NAME: host matching follows the request (127.0.0.1:<port>), as behind a real server.
    server = LiveServer(make_app(SERVER_NAME=None, PREFERRED_URL_SCHEME="http"))
    yield server
    server.stop()


def _person_codes(world) -> list[str]:
    return [world["mother"], world["child"], world["lr_mother"], "D-CD-0001", "D-LR-0001", "Kavumu", "Amina"]


@pytest.mark.parametrize("role", ROLES)
def test_schemathesis_finds_nothing(app, live_server, role):
    world = build_world(app)
    headers = {"Authorization": f"Bearer {world['tokens'][role]}"}
    schema = schemathesis.openapi.from_url(f"{live_server.url}/api/v1/openapi.json", config=CONFIG)
    person = [c.encode() for c in _person_codes(world)]
    operations = [result.ok() for result in schema.get_all_operations()]
    # Schemathesis leaves out the operation serving the description it loaded (test_api.py checks it).
    assert len(operations) == 9
    for operation in operations:
        operation_id = operation.definition.raw["operationId"]
        for mode in (schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE):

            @settings(max_examples=EXAMPLES[mode], derandomize=True, database=None, deadline=None,
                      phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
            @given(case=operation.as_strategy(generation_mode=mode))
            def fuzz(case):
                response = case.call_and_validate(headers=headers)
                assert response.request.url.startswith(live_server.url + "/api/v1/")  # over HTTP, to the served app
                assert response.status_code < 500
                if role == "donor":
                    assert not [c for c in person if c in response.content], (
                        f"donor token reached a person's code: {case.path} {case.query}")
                    if operation_id in RECORD_OPERATIONS:
                        assert response.status_code in DONOR_DENIED, f"donor token read {case.path} {case.query}"

            fuzz()
