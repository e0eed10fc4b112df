"""Property-based tests of the API against its own OpenAPI schema (schemathesis, every check):
requests the schema allows and requests it forbids, for every operation, on the in-process app.
No 5xx, every response as documented, schema-valid data accepted and invalid data refused."""

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode

from cardiofusion.serve import create_app

EXAMPLES = 30  # per operation and mode: bounded, so the suite stays within minutes
# A schema can say "a file", not "a readable recording": random bytes in a file field are
# schema-valid and rightly refused as unreadable (415). Everything else schema-valid must pass.
# Invalid data may also be refused as too large (413: a form value over 1 KB).
CONFIG = schemathesis.config.SchemathesisConfig.from_dict({"checks": {
    "positive_data_acceptance": {"expected-statuses": ["2xx", "401", "404", "415"]},
    "negative_data_rejection": {"expected-statuses": ["400", "401", "404", "405", "406", "413",
                                                      "415", "422", "428", "429"]}}})


@pytest.fixture(scope="module")
def api_schema(model_path, tiny_params):
    return schemathesis.openapi.from_asgi("/openapi.json", create_app(model_path, tiny_params),
                                          config=CONFIG)


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_every_operation_keeps_to_its_schema(api_schema, mode):
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert {f"{o.method.upper()} {o.path}" for o in operations} >= {
        "GET /health", "HEAD /health", "GET /risk-levels", "POST /predict",
        "POST /predict/detailed"}
    calls = 0
    for operation in operations:
        if mode is GenerationMode.NEGATIVE and not len(operation.body):
            continue  # nothing to send wrong: no parameters, no body
        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(max_examples=EXAMPLES, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        def keeps_to_schema(case):
            nonlocal calls
            calls += 1
            case.call_and_validate()

        keeps_to_schema()
    print(f"schemathesis {mode}: {calls} cases, 0 failures")
