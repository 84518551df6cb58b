"""marshmallow schemas of the JSON API's requests, its problems and its signed verify answer;
the read models' schemas are licensesvc/presentation's (one per read model, shared with the CLI).

Request schemas reject unknown fields (RAISE). Times are dumped as ISO 8601 UTC with a `Z`
(`2026-03-02T15:00:00Z`), dates as ISO dates."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

import marshmallow as ma
from marshmallow import fields, validate

import keys
from licensesvc.domain import (
    CaseStatus,
    EffectiveKeyStatus,
    EscalationReason,
    KeyKind,
    RevocationCode,
    TemporaryReason,
    values,
)
from licensesvc.domain.hosts import HOST_PATTERN, host_problem
from licensesvc.platform import inputs
from licensesvc.web import runtime_of

from .error_codes import ERROR_CODES

_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


class _NoControl(validate.Validator):
    """platform.inputs.text_problem as a marshmallow validator."""

    def __init__(self, *, multiline: bool) -> None:
        self.multiline = multiline

    def __call__(self, value: Any) -> Any:
        problem = inputs.text_problem(value, multiline=self.multiline)
        if problem is not None:
            raise ma.ValidationError(problem)
        return value


#: the documented form of _NoControl (OpenAPI `pattern`, ECMA-262 syntax)
LINE_PATTERN = r"^[^\u0000-\u001f\u007f-\u009f]*$"
FREE_TEXT_PATTERN = r"^[^\u0000-\u0008\u000b-\u001f\u007f-\u009f]*$"


def _with_pattern(kwargs: dict[str, Any], pattern: str) -> dict[str, Any]:
    metadata = dict(kwargs.pop("metadata", {}))
    metadata.setdefault("pattern", pattern)
    return dict(kwargs, metadata=metadata)


def Line(max_length: int = 200, **kwargs: Any) -> fields.String:  # noqa: N802 (a field factory)
    """One line of text: no control character at all (names, hosts, nonces)."""
    return fields.String(
        validate=[validate.Length(min=1, max=max_length), _NoControl(multiline=False)],
        **_with_pattern(kwargs, LINE_PATTERN),
    )


def FreeText(max_length: int = inputs.FREE_TEXT_MAX, **kwargs: Any) -> fields.String:  # noqa: N802
    """Free text (notes, reasons): newline and tab allowed, no other control character."""
    return fields.String(
        validate=[validate.Length(min=1, max=max_length), _NoControl(multiline=True)],
        **_with_pattern(kwargs, FREE_TEXT_PATTERN),
    )


class StrictBoolean(fields.Boolean):
    """JSON true or false only: 0, 1, "yes" and "false" are refused, not coerced."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> bool:
        if type(value) is not bool:
            raise self.make_error("invalid", input=value)
        return value


class StrictDate(fields.Date):
    """A date written YYYY-MM-DD only (not `20261220`, not a timestamp)."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> date:
        if not isinstance(value, str) or _ISO_DATE.fullmatch(value) is None:
            raise self.make_error("invalid", input=value)
        result: date = super()._deserialize(value, attr, data, **kwargs)
        return result


def Id(**kwargs: Any) -> fields.Integer:  # noqa: N802 (a field factory)
    """A row id: a whole number 1..2^31-1 (the database's range)."""
    return fields.Integer(validate=validate.Range(min=1, max=inputs.DB_INT_MAX), **kwargs)


def _host_name(value: str) -> None:
    """The services' one host rule (licensesvc/domain/hosts.py), so the schema, the CLI, the
    portal and the services agree; control characters are named as such."""
    problem = host_problem(value)
    if problem is not None:
        raise ma.ValidationError(problem)


class RequestSchema(ma.Schema):
    """Base of request schemas: an unknown field is a validation error, not ignored."""

    class Meta:
        unknown = ma.RAISE


# --- requests --------------------------------------------------------------------------------


class KeyRequestBody(RequestSchema):
    license_id = Id(required=True, strict=True, metadata={"example": 1})
    kind = fields.String(
        required=True,
        validate=validate.OneOf(values(KeyKind)),
        metadata={"description": "standard keys are issued by analysts only"},
    )
    reason = fields.String(
        validate=validate.OneOf(values(TemporaryReason)),
        metadata={"description": "why a temporary key is needed (required for `temporary`)"},
    )
    dr_test_date = StrictDate(
        metadata={
            "description": "ISO date (YYYY-MM-DD) of the DR test (required for `dr_test`); "
            "within a year before today to a year past the policy's furthest lead"
        }
    )
    host = fields.String(
        validate=_host_name,
        metadata={
            "description": "host the key is bound to (default: the license's host; for "
            "`dr_test` the license's failover host, and required when the license has none); "
            "letters, digits, '.', '-', '_', 1-200, beginning and ending with a letter or digit",
            "pattern": HOST_PATTERN,
        },
    )
    severity = fields.Integer(
        strict=True,
        validate=validate.Range(min=1, max=4),
        metadata={"description": "1 critical to 4 low; sets the respond-by time if escalated"},
    )
    dry_run = StrictBoolean(
        load_default=False,
        metadata={"description": "explain the decision, check by check, and record nothing"},
    )
    override_reason = FreeText(
        metadata={"description": "analysts only: grant what policy would refuse, with a reason"},
    )

    @ma.validates("dr_test_date")
    def _reachable_date(self, value: date, **kwargs: Any) -> None:
        rt = runtime_of()
        earliest, latest = inputs.dr_test_date_range(rt.settings.policy, rt.clock().date())
        problem = inputs.date_problem(value, earliest, latest)
        if problem is not None:
            raise ma.ValidationError(problem)


class EscalateBody(RequestSchema):
    note = FreeText(metadata={"description": "what the analyst should know"})
    severity = fields.Integer(strict=True, validate=validate.Range(min=1, max=4))
    reason = fields.String(
        validate=validate.OneOf(values(EscalationReason)),
        metadata={
            "description": "review_refusal (default for a refused case), response_time_not_met "
            "(an overdue case), handling_concern, criticality_changed (with a new severity)"
        },
    )


class DecisionBody(RequestSchema):
    reason = FreeText(required=True, metadata={"description": "lands in the audit trail"})


class RevokeBody(RequestSchema):
    reason = FreeText(
        required=True,
        metadata={"description": "the analyst's words: the audit trail only, never the list"},
    )
    code = fields.String(
        load_default=RevocationCode.KEY_COMPROMISE.value,
        validate=validate.OneOf(values(RevocationCode)),
        metadata={
            "description": "what the signed revocation list says (default `key_compromise`: a "
            "revocation that names no cause is treated as the worst one)"
        },
    )


class VerifyBody(RequestSchema):
    key = fields.String(
        required=True,
        validate=validate.Length(min=1, max=65536),
        metadata={"description": "the compact key text (`LK1.`...) or the armored license file"},
    )
    nonce = Line(metadata={"description": "echoed in the signed answer, so it cannot be replayed"})
    product = Line(
        metadata={"description": "the product to check the key for; echoed in the signed answer"}
    )
    host = Line(
        metadata={"description": "the host to check the key for; echoed in the signed answer"}
    )


class EntitlementsQuery(RequestSchema):
    customer_id = Id(
        metadata={"description": "analysts: required; customers: their own id or nothing"}
    )


class ListQuery(RequestSchema):
    """The query of a paginated list: its filters, and any other name is a validation error.
    `page` and `page_size` are `@blp.paginate`'s (parsed and documented there), so they are
    set aside here before the unknown ones are refused."""

    PAGE_PARAMETERS = ("page", "page_size")

    @ma.pre_load
    def _without_page_parameters(self, data: Any, **_kwargs: Any) -> Any:
        if not hasattr(data, "keys"):
            return data
        return {k: data[k] for k in data.keys() if k not in self.PAGE_PARAMETERS}  # noqa: SIM118


class CaseListQuery(ListQuery):
    status = fields.String(validate=validate.OneOf(values(CaseStatus)))
    customer_id = Id(metadata={"description": "analysts only; ignored otherwise"})


class KeyListQuery(ListQuery):
    license_id = Id()
    customer_id = Id(metadata={"description": "analysts only; ignored otherwise"})


class LicenseListQuery(ListQuery):
    customer_id = Id(metadata={"description": "analysts only; ignored otherwise"})


# --- responses -------------------------------------------------------------------------------


class ProblemSchema(ma.Schema):
    """An error, as `application/problem+json` (RFC 9457)."""

    type = fields.String(metadata={"description": "link to this code's entry in /docs"})
    title = fields.String()
    status = fields.Integer()
    detail = fields.String()
    code = fields.String(
        metadata={
            "description": "stable machine-readable code",
            "enum": [c for c, *_ in ERROR_CODES],
        }
    )
    case_number = fields.String(
        metadata={"description": "present when the refused request was recorded as a case"}
    )
    instance = fields.String(metadata={"description": "the case, or the request path"})
    errors = fields.Dict(metadata={"description": "validation errors: field name -> messages"})
    retry_after = fields.Integer(
        metadata={"description": "with 429 `rate_limited`: seconds to wait (as Retry-After)"}
    )


class VerifyAnswerSchema(ma.Schema):
    """The signed answer of POST /v1/keys/verify; every member but `signature` is signed."""

    valid = fields.Boolean()
    code = fields.String(
        metadata={
            "description": "`valid` or the failure code",
            "enum": ["valid", "unknown_serial", *keys.ERROR_CODES],
        }
    )
    status = fields.String(metadata={"enum": [*values(EffectiveKeyStatus), "unknown"]})
    checked_at = fields.String(metadata={"description": "YYYY-MM-DDTHH:MM:SSZ"})
    nonce = fields.String(allow_none=True)
    host = fields.String(
        allow_none=True,
        metadata={
            "description": "the `host` the request named, null when it named none: compare it "
            "with the host you asked about (a relay may drop it)"
        },
    )
    product = fields.String(
        allow_none=True,
        metadata={
            "description": "the `product` the request named, null when it named none: compare "
            "it with the product you asked about"
        },
    )
    serial = fields.String()
    claims = fields.Dict(metadata={"description": "present when the signature is genuine"})
    usable_until = fields.String(
        metadata={"description": "a superseded key's end of overlap (YYYY-MM-DDTHH:MM:SSZ)"}
    )
    kid = fields.String(metadata={"description": "the server key that signed this answer"})
    signature = fields.String(metadata={"description": "Ed25519, unpadded base64url"})


class RevocationListSchema(ma.Schema):
    revocation_list = fields.String(metadata={"description": "the signed `LRL2.` text"})


class CascadeDeltaQuery(ma.Schema):
    since = fields.Integer(
        required=True,
        strict=False,
        validate=validate.Range(min=1, max=2**53 - 2),
        metadata={"description": "the generation the installer is at (base or last delta)"},
    )
