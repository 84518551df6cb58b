"""The OpenAPI document is valid and complete, and /docs renders it without external assets."""

from __future__ import annotations

import re

from flask.testing import FlaskClient
from openapi_spec_validator import validate

#: the transparency log's (docs/transparency.md), public
LOG_OPERATIONS = {
    ("get", "/v1/log/inclusion"),
    ("get", "/v1/log/consistency"),
    ("get", "/v1/log/key"),
    ("get", "/log/checkpoint"),
    ("get", "/log/tile/{level}/{rest}"),
    ("get", "/log/tile/entries/{rest}"),
}
EXPECTED_OPERATIONS = {
    ("get", "/v1/entitlements"),
    ("get", "/v1/licenses"),
    ("get", "/v1/licenses/{license_id}"),
    ("get", "/v1/key-requests"),
    ("post", "/v1/key-requests"),
    ("get", "/v1/key-requests/{case_number}"),
    ("post", "/v1/key-requests/{case_number}/escalate"),
    ("post", "/v1/key-requests/{case_number}/grant"),
    ("post", "/v1/key-requests/{case_number}/deny"),
    ("get", "/v1/keys"),
    ("get", "/v1/keys/{serial}"),
    ("get", "/v1/keys/{serial}/license-file"),
    ("post", "/v1/keys/{serial}/revoke"),
    ("post", "/v1/keys/verify"),
    ("get", "/v1/signing-keys"),
    ("get", "/v1/revocations"),
    ("get", "/v1/revocations/cascade"),
    ("get", "/v1/revocations/cascade/delta"),
    ("get", "/v1/contracts/{contract_id}"),
    ("get", "/v1/contracts/{contract_id}/payments"),
    ("post", "/v1/contracts/{contract_id}/payments"),
    ("post", "/v1/contracts/{contract_id}/plan-changes"),
    ("post", "/v1/contracts/{contract_id}/renewal"),
    ("post", "/v1/contracts/{contract_id}/termination"),
    ("get", "/v1/licenses/{license_id}/changes"),
    ("post", "/v1/licenses/{license_id}/changes"),
    ("post", "/v1/licenses/{license_id}/retirement"),
    ("patch", "/v1/customers/{customer_id}"),
    ("get", "/v1/key-requests/{case_number}/updates"),
    ("post", "/v1/key-requests/{case_number}/updates"),
    ("get", "/v1/webhooks"),
    ("post", "/v1/webhooks"),
    ("post", "/v1/webhooks/{webhook_id}/disable"),
    ("post", "/v1/webhooks/{webhook_id}/rotate-secret"),
    ("get", "/v1/webhooks/{webhook_id}/deliveries"),
    ("post", "/v1/key-requests/{case_number}/assign"),
    ("post", "/v1/key-requests/{case_number}/notes"),
    ("post", "/v1/key-requests/{case_number}/severity"),
    *LOG_OPERATIONS,
}
PUBLIC = {
    ("post", "/v1/keys/verify"),
    ("get", "/v1/signing-keys"),
    ("get", "/v1/revocations"),
    ("get", "/v1/revocations/cascade"),
    ("get", "/v1/revocations/cascade/delta"),
    *LOG_OPERATIONS,
}


def test_openapi_document_is_valid_and_lists_every_operation(api_client: FlaskClient) -> None:
    r = api_client.get("/openapi.json")
    assert r.status_code == 200
    spec = r.get_json()
    validate(spec)
    assert spec["info"]["title"] == "licensesvc"
    assert spec["info"]["version"] == "v1"
    assert spec["openapi"] == "3.0.3"
    operations = {
        (method, path)
        for path, item in spec["paths"].items()
        for method in item
        if method in ("get", "post", "put", "patch", "delete")
    }
    assert operations == EXPECTED_OPERATIONS
    for method, path in operations:
        assert spec["paths"][path][method]["summary"], (method, path)


def test_openapi_declares_bearer_auth_and_the_public_operations(api_client: FlaskClient) -> None:
    spec = api_client.get("/openapi.json").get_json()
    assert spec["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http",
        "scheme": "bearer",
        "description": "an API token from `licensesvc token create`",
    }
    assert spec["security"] == [{"bearerAuth": []}]
    for method, path in PUBLIC:
        assert spec["paths"][path][method]["security"] == []


def test_openapi_documents_errors_as_problem_json(api_client: FlaskClient) -> None:
    spec = api_client.get("/openapi.json").get_json()
    not_found = spec["components"]["responses"]["NOT_FOUND"]["content"]
    assert list(not_found) == ["application/problem+json"]
    problem = spec["components"]["schemas"]["Problem"]["properties"]
    assert {"type", "title", "status", "detail", "code", "case_number", "errors"} <= set(problem)
    assert "quota_exceeded" in problem["code"]["enum"]
    request = spec["components"]["schemas"]["KeyRequestBody"]
    assert request["additionalProperties"] is False
    assert request["properties"]["kind"]["enum"] == [
        "standard",
        "replacement",
        "dr_test",
        "temporary",
    ]


def test_docs_page_is_served_without_external_assets(api_client: FlaskClient) -> None:
    r = api_client.get("/docs")
    assert r.status_code == 200
    assert r.mimetype == "text/html"
    html = r.get_data(as_text=True)
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html)
    assert "http://" not in html and "https://" not in html
    for needle in (
        "/v1/key-requests/{case_number}/escalate",
        'id="problem-quota_exceeded"',
        "Authorization: Bearer",
        "KeyRequestBody",
        "dr_test_date",
    ):
        assert needle in html


def test_the_verify_answer_documents_the_host_and_product_it_echoes(
    api_client: FlaskClient,
) -> None:
    doc = api_client.get("/openapi.json").get_json()
    answer = doc["components"]["schemas"]["VerifyAnswer"]["properties"]
    for name in ("nonce", "host", "product"):
        assert answer[name]["type"] == ["string", "null"] or answer[name].get("nullable"), name
    assert "compare it with the host you asked about" in answer["host"]["description"]
    assert "compare it with the product you asked about" in answer["product"]["description"]
