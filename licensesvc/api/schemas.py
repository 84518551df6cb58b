"""marshmallow schemas of every request and response of the JSON API.

Request schemas reject unknown fields (RAISE). Times are dumped as ISO 8601 UTC with a `Z`
(`2026-03-02T15:00:00Z`), dates as ISO dates."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Any

import marshmallow as ma
from marshmallow import fields, validate

import keys
from licensesvc.domain import (
    CaseStatus,
    EffectiveKeyStatus,
    EscalationReason,
    KeyKind,
    Plan,
    RevocationCode,
    SigningKeyStatus,
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


class UTCDateTime(fields.DateTime):
    """A tz-aware datetime written as `YYYY-MM-DDTHH:MM:SSZ` (UTC, whole seconds)."""

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> str | None:
        if value is None:
            return None
        if not isinstance(value, datetime) or value.tzinfo is None:
            raise ValueError("only tz-aware datetimes are written")
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


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


class LicenseSchema(ma.Schema):
    id = fields.Integer()
    customer_id = fields.Integer()
    product = fields.String()
    agents = fields.Integer()
    jobs = fields.Integer()
    host = fields.String()
    failover_host = fields.String(allow_none=True)
    expires_on = fields.Date(allow_none=True, metadata={"description": "null: perpetual"})
    created_at = UTCDateTime()


class KeySchema(ma.Schema):
    serial = fields.String()
    kind = fields.String(metadata={"enum": values(KeyKind)})
    key = fields.String(metadata={"description": "the compact signed key text (`LK1.`...)"})
    status = fields.String(
        metadata={
            "description": "effective status now",
            "enum": values(EffectiveKeyStatus),
        }
    )
    license_id = fields.Integer()
    customer_id = fields.Integer()
    contract_id = fields.Integer(allow_none=True)
    case_number = fields.String(allow_none=True)
    host = fields.String()
    failover_host = fields.String(allow_none=True)
    reason = fields.String(allow_none=True)
    dr_test_date = fields.Date(allow_none=True)
    issued_at = UTCDateTime()
    not_before = UTCDateTime()
    expires_at = UTCDateTime(allow_none=True, metadata={"description": "null: perpetual"})
    supersedes = fields.String(allow_none=True)
    superseded_by = fields.String(allow_none=True)
    usable_until = UTCDateTime(
        allow_none=True, metadata={"description": "end of the overlap of a superseded key"}
    )
    revoked_at = UTCDateTime(allow_none=True)
    revoked_reason = fields.String(
        allow_none=True,
        metadata={
            "description": "the analyst's words: analyst tokens only, null for a customer "
            "token (customers see `revocation_code`; the words stay in the audit trail)"
        },
    )
    revocation_code = fields.String(
        allow_none=True,
        metadata={"description": "what the revocation list says", "enum": values(RevocationCode)},
    )
    signing_kid = fields.String()
    claims = fields.Dict(metadata={"description": "the signed claims, as in the key"})


class CaseUpdateSchema(ma.Schema):
    at = UTCDateTime()
    author = fields.String()
    text = fields.String()


class CaseSchema(ma.Schema):
    case_number = fields.String()
    status = fields.String(metadata={"enum": values(CaseStatus)})
    kind = fields.String(metadata={"enum": values(KeyKind)})
    license_id = fields.Integer()
    customer_id = fields.Integer()
    contract_id = fields.Integer(allow_none=True)
    reason = fields.String(allow_none=True)
    dr_test_date = fields.Date(allow_none=True)
    host = fields.String(allow_none=True)
    severity = fields.Integer()
    requested_by = fields.String()
    refusal_code = fields.String(allow_none=True)
    refusal_message = fields.String(allow_none=True)
    created_at = UTCDateTime()
    escalated_at = UTCDateTime(allow_none=True)
    escalation_note = fields.String(allow_none=True)
    respond_by = UTCDateTime(
        allow_none=True,
        metadata={"description": "initial-response target, counted in business hours"},
    )
    decided_at = UTCDateTime(allow_none=True)
    decided_by = fields.String(allow_none=True)
    decision_reason = fields.String(allow_none=True)
    key_serial = fields.String(allow_none=True)
    escalation_reason = fields.String(allow_none=True, metadata={"enum": values(EscalationReason)})
    next_update_due = UTCDateTime(
        allow_none=True,
        metadata={"description": "when the next status update is due (escalated cases)"},
    )
    responded_at = UTCDateTime(
        allow_none=True, metadata={"description": "the analyst's first update since escalation"}
    )
    original_refusal_code = fields.String(
        allow_none=True, metadata={"description": "the refusal a grant or denial decided on"}
    )
    original_refusal_message = fields.String(allow_none=True)
    overdue = fields.Boolean(
        metadata={"description": "escalated, and respond-by or the next update has passed"}
    )
    overdue_reason = fields.String(allow_none=True)
    phone_required = fields.Boolean(
        metadata={"description": "Sev 1 and 2: a phone call is required to meet the goal"}
    )
    support_phone = fields.String(allow_none=True)
    notice = fields.String(allow_none=True)
    updates = fields.List(fields.Nested(CaseUpdateSchema))


class GrantedCaseSchema(CaseSchema):
    """A granted case with the key it issued."""

    key = fields.Nested(KeySchema)


class CheckSchema(ma.Schema):
    check = fields.String(attribute="name")
    code = fields.String(metadata={"description": "the refusal code this check produces"})
    overridable = fields.Boolean(
        metadata={
            "description": "false for an impossible request, which no analyst's override can bypass"
        }
    )
    passed = fields.Boolean()
    detail = fields.String()


class WouldIssueSchema(ma.Schema):
    kind = fields.String()
    not_before = UTCDateTime(allow_none=True)
    expires_at = UTCDateTime(allow_none=True)


class DryRunSchema(ma.Schema):
    dry_run = fields.Boolean()
    outcome = fields.String(metadata={"enum": [CaseStatus.GRANTED.value, CaseStatus.REFUSED.value]})
    code = fields.String(allow_none=True, metadata={"description": "the winning refusal code"})
    message = fields.String()
    checks = fields.List(fields.Nested(CheckSchema))
    would_issue = fields.Nested(
        WouldIssueSchema, allow_none=True, metadata={"description": "null when refused"}
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


class SigningKeySchema(ma.Schema):
    kid = fields.String()
    public_key_pem = fields.String()
    public_key_raw_b64 = fields.Function(
        lambda rec: keys.PublicKey.from_pem(rec.public_key_pem).raw_b64(),
        metadata={"description": "the 32 raw public-key bytes, unpadded base64url"},
    )
    status = fields.String(metadata={"enum": values(SigningKeyStatus)})
    created_at = UTCDateTime()
    retired_at = UTCDateTime(allow_none=True)
    rotation_statement = fields.String(
        allow_none=True,
        metadata={"description": "`LROT1.` statement signed by the previous key, if any"},
    )


class RevocationListSchema(ma.Schema):
    revocation_list = fields.String(metadata={"description": "the signed `LRL2.` text"})


# --- the entitlement report ------------------------------------------------------------------


class CustomerRef(ma.Schema):
    id = fields.Integer()
    name = fields.String()
    region = fields.String()


class PlanPeriod(ma.Schema):
    plan = fields.String(metadata={"enum": values(Plan)})
    from_ = fields.Date(attribute="from", data_key="from")


class ContractRef(ma.Schema):
    id = fields.Integer()
    start = fields.Date()
    end = fields.Date(metadata={"description": "last covered day (termination included)"})
    plan = fields.String(metadata={"enum": values(Plan), "description": "the plan today"})
    terminated_on = fields.Date(allow_none=True)
    renews = fields.Integer(allow_none=True)
    plan_history = fields.List(fields.Nested(PlanPeriod))


class EntitlementRefusal(ma.Schema):
    code = fields.String()
    message = fields.String()


class DrTestQuota(ma.Schema):
    used = fields.Integer()
    limit = fields.Integer()
    period_start = fields.Date(allow_none=True)
    resets_on = fields.Date(
        allow_none=True, metadata={"description": "the next contract year: the count restarts"}
    )


class TemporaryQuota(ma.Schema):
    limit = fields.Integer()


class Quotas(ma.Schema):
    dr_test = fields.Nested(DrTestQuota, metadata={"description": "absent without a contract"})
    temporary_per_license = fields.Nested(TemporaryQuota)
    host_moves_per_contract_year = fields.Integer(
        metadata={"description": "moves of a license to a new host per contract year"}
    )

    @ma.post_dump
    def _omit_missing_dr_test(self, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        if data.get("dr_test") is None:
            data.pop("dr_test", None)
        return data


class ResponseTargetSchema(ma.Schema):
    severity = fields.Integer()
    name = fields.String()
    definition = fields.String()
    phone_required = fields.Boolean()
    initial_response = fields.String()
    initial_response_amount = fields.Integer()
    initial_response_unit = fields.String(metadata={"enum": ["business_hours", "business_days"]})
    status_updates = fields.String()


class RegionHours(ma.Schema):
    region = fields.String()
    name = fields.String()
    hours = fields.String()
    timezone = fields.String()
    excluding = fields.String()


class SupportHours(ma.Schema):
    region = fields.String()
    core_hours = fields.String()
    timezone = fields.String()
    holidays = fields.String(metadata={"description": "the customer's holiday calendar"})
    excluding = fields.String()
    after_hours = fields.String()
    sev1_cover = fields.String(metadata={"enum": ["24x5", "24x7"]})
    support_phone = fields.String(metadata={"description": "for Sev 1 and 2: call"})
    all_regions = fields.List(fields.Nested(RegionHours))


class PolicySummary(ma.Schema):
    dr_window_days_before = fields.Integer()
    dr_window_days_after = fields.Integer()
    dr_min_lead_days = fields.Integer()
    replacement_overlap_days = fields.Integer()
    temporary_key_days = fields.Integer()
    host_moves_per_contract_year = fields.Integer()


class KindUnavailableSchema(ma.Schema):
    kind = fields.String(metadata={"enum": values(KeyKind)})
    code = fields.String(metadata={"description": "the refusal a request would get today"})
    message = fields.String()


class LicenseEntitlementSchema(ma.Schema):
    license_id = fields.Integer()
    product = fields.String()
    host = fields.String()
    failover_host = fields.String(allow_none=True)
    expires_on = fields.Date(allow_none=True)
    allowed_key_kinds = fields.List(
        fields.String(metadata={"enum": values(KeyKind)}),
        metadata={"description": "what this license can actually have today"},
    )
    unavailable = fields.List(fields.Nested(KindUnavailableSchema))
    usable_hosts = fields.List(
        fields.String(), metadata={"description": "hosts its keys are usable on now"}
    )
    temporary_slot_frees_at = UTCDateTime(
        allow_none=True, metadata={"description": "when the temporary-key slot in use frees"}
    )
    dr_tests_left = fields.Integer(allow_none=True)
    dr_year_resets_on = fields.Date(allow_none=True)
    host_moves_left = fields.Integer(allow_none=True)
    host_moves_reset_on = fields.Date(allow_none=True)


class ClaimDifferenceSchema(ma.Schema):
    claim = fields.String()
    key = fields.Raw(metadata={"description": "what the key says"})
    records = fields.Raw(metadata={"description": "what the records say now"})


class KeyOutOfDateSchema(ma.Schema):
    serial = fields.String()
    license_id = fields.Integer()
    kind = fields.String(metadata={"enum": values(KeyKind)})
    differences = fields.List(fields.Nested(ClaimDifferenceSchema))
    refresh = fields.String(metadata={"description": "how to get a key that matches"})


class EntitlementReportSchema(ma.Schema):
    customer = fields.Nested(CustomerRef)
    as_of = fields.Date()
    plan = fields.String(allow_none=True, metadata={"enum": values(Plan)})
    contract = fields.Nested(ContractRef, allow_none=True)
    contract_active = fields.Boolean()
    maintenance_current = fields.Boolean()
    maintenance_paid_through = fields.Date(allow_none=True)
    grace_until = fields.Date(allow_none=True)
    in_grace_period = fields.Boolean()
    refusal = fields.Nested(
        EntitlementRefusal,
        allow_none=True,
        metadata={"description": "why no key would be issued today"},
    )
    allowed_key_kinds = fields.List(
        fields.String(),
        metadata={
            "description": "kinds the standing and plan allow today; each license's own, with "
            "its keys and quotas counted, are under `licenses`"
        },
    )
    plan_key_kinds = fields.List(fields.String())
    temporary_key_reasons = fields.List(fields.String())
    quotas = fields.Nested(Quotas)
    response_targets = fields.List(fields.Nested(ResponseTargetSchema))
    support_hours = fields.Nested(SupportHours)
    root_cause_analysis = fields.String()
    services = fields.List(fields.String())
    policy = fields.Nested(PolicySummary)
    licenses = fields.List(
        fields.Nested(LicenseEntitlementSchema),
        metadata={"description": "what each license can actually have today"},
    )
    keys_out_of_date = fields.List(
        fields.Nested(KeyOutOfDateSchema),
        metadata={"description": "usable keys whose signed claims no longer match the records"},
    )
