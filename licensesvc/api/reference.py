"""GET /docs: a readable API reference rendered on the server from the OpenAPI document
itself (paths, parameters, schemas, error codes), with inline CSS and no external asset."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template
from flask_smorest import Api

from .error_codes import ERROR_CODES

_METHODS = ("get", "post", "put", "patch", "delete")


def reference_blueprint(api: Api) -> Blueprint:
    bp = Blueprint("api_reference", __name__)

    @bp.get("/docs")
    def reference() -> str:
        """The API reference page."""
        spec = api.spec.to_dict()
        return render_template(
            "api/reference.html",
            spec=spec,
            operations=list(_operations(spec)),
            schemas=spec.get("components", {}).get("schemas", {}),
            error_codes=ERROR_CODES,
            schema_name=_schema_name,
        )

    return bp


def _operations(spec: dict[str, Any]) -> Any:
    for path, item in spec.get("paths", {}).items():
        shared = item.get("parameters", [])
        for method in _METHODS:
            op = item.get(method)
            if op is None:
                continue
            public = op.get("security") == []
            body = (op.get("requestBody", {}).get("content", {}).get("application/json", {})).get(
                "schema"
            )
            responses = []
            for status, response in op.get("responses", {}).items():
                response = _resolve_response(spec, response)
                contents = [
                    (ctype, _schema_name(c.get("schema")))
                    for ctype, c in response.get("content", {}).items()
                ]
                responses.append((status, response.get("description", ""), contents))
            yield {
                "anchor": f"{method}-{path}".replace("/", "-").replace("<", "").replace(">", ""),
                "method": method.upper(),
                "path": path,
                "summary": op.get("summary", ""),
                "description": op.get("description", ""),
                "public": public,
                "tags": op.get("tags", []),
                "parameters": [*shared, *op.get("parameters", [])],
                "body": _schema_name(body),
                "responses": sorted(responses, key=lambda r: (r[0] == "default", r[0])),
            }


def _resolve_response(spec: dict[str, Any], response: Any) -> dict[str, Any]:
    if isinstance(response, dict) and "$ref" in response:
        name = response["$ref"].rsplit("/", 1)[-1]
        resolved: dict[str, Any] = spec.get("components", {}).get("responses", {}).get(name, {})
        return resolved
    return response if isinstance(response, dict) else {}


def _schema_name(schema: Any) -> str:
    """A short readable name of a schema: `Case`, `array of Key`, `string`."""
    if not isinstance(schema, dict):
        return ""
    if "$ref" in schema:
        return str(schema["$ref"]).rsplit("/", 1)[-1]
    for combined in ("allOf", "anyOf", "oneOf"):  # how a nullable nested schema is written
        refs = [s for s in schema.get(combined, ()) if isinstance(s, dict) and "$ref" in s]
        if refs:
            return _schema_name(refs[0])
    if schema.get("type") == "array":
        return "array of " + _schema_name(schema.get("items"))
    kind = str(schema.get("type", "object"))
    if schema.get("format"):
        kind += f" ({schema['format']})"
    if schema.get("enum"):
        kind += ": " + " | ".join(str(v) for v in schema["enum"])
    return kind
