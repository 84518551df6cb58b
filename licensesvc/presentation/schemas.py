"""One marshmallow schema per read model (licensesvc/readmodels.py): the JSON the API answers
(flask-smorest `@blp.response`) and the JSON the CLI prints (`--json`), declared once.

A read model's schema names exactly its dataclass's fields (tests/licensesvc/presentation
checks it, nested read models included); where some readers see less, a narrower schema
presents a part of the same read model (`CaseSchema` for a customer, `AnalystCaseSchema` for an
analyst, `GrantedCaseSchema` with the key a grant issued). `SCHEMA_OF` names each read model's
whole schema, `PRESENTS` what each schema presents. Times are written as ISO 8601 UTC with a
`Z` (`2026-03-02T15:00:00Z`), dates as ISO dates, vocabulary words as their values. The class
names are the OpenAPI document's component names: keep them."""

from __future__ import annotations

import dataclasses
import types
import typing
from datetime import date, datetime
from enum import StrEnum
from typing import Any

import marshmallow as ma
from marshmallow import fields

from licensesvc import readmodels as rm
from licensesvc.domain import (
    CaseStatus,
    EffectiveKeyStatus,
    EscalationReason,
    KeyKind,
    Plan,
    PremiumService,
    Region,
    RevocationCode,
    SigningKeyStatus,
    values,
)
from licensesvc.domain.policy import Check

from .fields import UTCDateTime


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
    customer_id = fields.Integer()
    license_id = fields.Integer()
    contract_id = fields.Integer(allow_none=True)
    reason = fields.String(allow_none=True)
    dr_test_date = fields.Date(allow_none=True)
    host = fields.String(allow_none=True)
    severity = fields.Integer()
    requested_by = fields.String()
    created_at = UTCDateTime()
    refusal_code = fields.String(allow_none=True)
    refusal_message = fields.String(allow_none=True)
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


class SigningKeySchema(ma.Schema):
    kid = fields.String()
    public_key_pem = fields.String()
    # a Function field, as before the read model had it: the OpenAPI document says readOnly
    public_key_raw_b64 = fields.Function(
        lambda view: view.public_key_raw_b64,
        metadata={"description": "the 32 raw public-key bytes, unpadded base64url"},
    )
    status = fields.String(metadata={"enum": values(SigningKeyStatus)})
    created_at = UTCDateTime()
    retired_at = UTCDateTime(allow_none=True)
    rotation_statement = fields.String(
        allow_none=True,
        metadata={"description": "`LROT1.` statement signed by the previous key, if any"},
    )


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


class PremiumServiceStatusSchema(ma.Schema):
    service = fields.String(metadata={"enum": values(PremiumService)})
    included = fields.Boolean(metadata={"description": "whether the plan includes it today"})
    every_months = fields.Integer(
        allow_none=True, metadata={"description": "how often it falls due (recurring services)"}
    )
    per_contract_year = fields.Integer(
        allow_none=True, metadata={"description": "how many a contract year allows (counted)"}
    )
    used_this_year = fields.Integer(allow_none=True)
    left_this_year = fields.Integer(allow_none=True)
    resets_on = fields.Date(
        allow_none=True, metadata={"description": "the next contract year: the count restarts"}
    )
    last_held = fields.Date(allow_none=True)
    next_due = fields.Date(allow_none=True)
    overdue = fields.Boolean(metadata={"description": "the next-due day has passed"})
    requested_for = fields.Date(
        allow_none=True, metadata={"description": "the planned day of an open request"}
    )


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
    premium_services = fields.List(
        fields.Nested(PremiumServiceStatusSchema),
        metadata={
            "description": "the Premium services: the contract year's major upgrade, the "
            "health check's and the support review's last and next dates"
        },
    )


# --- cases as analysts see them, and whole ---------------------------------------------------


class CaseNoteSchema(ma.Schema):
    at = UTCDateTime()
    author = fields.String()
    text = fields.String()


class AnalystCaseSchema(CaseSchema):
    """A case as analysts see it: the customer's fields, its owner and internal notes."""

    owner = fields.String(allow_none=True, metadata={"description": "the analyst who owns it"})
    notes = fields.List(
        fields.Nested(CaseNoteSchema),
        metadata={"description": "internal notes: analysts only, never shown to the customer"},
    )


class WholeCaseSchema(AnalystCaseSchema, GrantedCaseSchema):
    """Every field of a case (the CLI's analysts see them all)."""


class KeyDetailSchema(KeySchema):
    """A key with what it grants, as signed into it (`licensesvc key show`)."""

    product = fields.String(allow_none=True)
    agents = fields.Integer(allow_none=True)
    jobs = fields.Integer(allow_none=True)
    customer_name = fields.String(allow_none=True)


# --- licenses over time and the payment ledger ----------------------------------------------


class LicenseChangeRow(ma.Schema):
    at = UTCDateTime()
    actor = fields.String()
    reason = fields.String()
    changes = fields.Dict(metadata={"description": "field -> [before, after]"})


class LicenseWithHistorySchema(LicenseSchema):
    retired_at = UTCDateTime(allow_none=True)
    changes = fields.List(fields.Nested(LicenseChangeRow))


class PaymentSchema(ma.Schema):
    id = fields.Integer()
    contract_id = fields.Integer()
    paid_through = fields.Date()
    invoice = fields.String(allow_none=True)
    correction = fields.Boolean()
    reason = fields.String(allow_none=True)
    recorded_at = UTCDateTime()
    recorded_by = fields.String()


# --- contracts -------------------------------------------------------------------------------


class PlanChangeRow(ma.Schema):
    plan = fields.String(metadata={"enum": values(Plan)})
    effective_from = fields.Date(data_key="from")
    reason = fields.String(allow_none=True)


class ContractSchema(ma.Schema):
    id = fields.Integer()
    customer_id = fields.Integer()
    plan = fields.String(metadata={"description": "the plan the contract started with"})
    plan_today = fields.String(metadata={"description": "the plan in effect today"})
    plan_history = fields.List(fields.Nested(PlanChangeRow))
    start = fields.Date()
    end = fields.Date()
    terminated_on = fields.Date(
        allow_none=True, metadata={"description": "last covered day of a contract ended early"}
    )
    termination_reason = fields.String(allow_none=True)
    renews = fields.Integer(allow_none=True, metadata={"description": "the contract renewed"})
    renewed_by = fields.Integer(allow_none=True)
    paid_through = fields.Date(metadata={"description": "the latest ledger entry"})
    grace_days = fields.Integer(allow_none=True)
    created_at = UTCDateTime()


# --- customers -------------------------------------------------------------------------------


class CustomerSchema(ma.Schema):
    id = fields.Integer()
    name = fields.String()
    region = fields.String(metadata={"enum": values(Region)})
    holidays = fields.String()
    created_at = UTCDateTime()


# --- the read models only the CLI prints: their schemas follow their dataclasses -------------


def _field_for(hint: Any) -> fields.Field[Any]:
    """The marshmallow field of a read model's field type (a nested read model: its schema)."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (types.UnionType, typing.Union):
        (inner,) = [a for a in args if a is not type(None)]
        field = _field_for(inner)
        field.allow_none = True
        return field
    if origin in (list, tuple):
        return fields.List(_field_for(args[0]))
    if origin is dict or hint is dict:
        return fields.Dict()
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        read_model: type = hint
        return fields.Nested(lambda: SCHEMA_OF[read_model]())
    if isinstance(hint, type) and issubclass(hint, StrEnum):
        return fields.String(metadata={"enum": values(hint)})
    simple: dict[Any, type[fields.Field[Any]]] = {
        bool: fields.Boolean,
        int: fields.Integer,
        str: fields.String,
        datetime: UTCDateTime,
        date: fields.Date,
    }
    return simple.get(hint, fields.Raw)()


def _schema_following(read_model: type) -> type[ma.Schema]:
    hints = typing.get_type_hints(read_model)
    declared = {f.name: _field_for(hints[f.name]) for f in dataclasses.fields(read_model)}
    return ma.Schema.from_dict(declared, name=f"{read_model.__name__}Schema")


_FOLLOWING = (
    rm.ServiceRecordView,
    rm.ContractView,
    rm.CustomerMatch,
    rm.StandingView,
    rm.PaymentView,
    rm.ContractLedger,
    rm.LicenseLine,
    rm.KeyLine,
    rm.CaseLine,
    rm.CustomerOverview,
    rm.QueueLine,
    rm.TokenView,
    rm.UserView,
    rm.AuditRecordView,
)

#: each read model's whole schema: every field of the dataclass, nested read models by theirs
SCHEMA_OF: dict[type, type[ma.Schema]] = {
    rm.LicenseView: LicenseSchema,
    rm.KeyView: KeyDetailSchema,
    rm.CaseView: WholeCaseSchema,
    rm.CaseUpdateView: CaseUpdateSchema,
    rm.CaseNoteView: CaseNoteSchema,
    Check: CheckSchema,
    rm.WouldIssue: WouldIssueSchema,
    rm.DryRunView: DryRunSchema,
    rm.CustomerView: CustomerSchema,
    rm.CustomerRef: CustomerRef,
    rm.ContractRef: ContractRef,
    rm.EntitlementRefusal: EntitlementRefusal,
    rm.DrTestQuotaUse: DrTestQuota,
    rm.TemporaryQuotaLimit: TemporaryQuota,
    rm.QuotaReport: Quotas,
    rm.KindUnavailable: KindUnavailableSchema,
    rm.LicenseEntitlement: LicenseEntitlementSchema,
    rm.ClaimDifference: ClaimDifferenceSchema,
    rm.KeyOutOfDate: KeyOutOfDateSchema,
    rm.SupportHours: SupportHours,
    rm.PolicySummary: PolicySummary,
    rm.EntitlementReport: EntitlementReportSchema,
    rm.PremiumServiceStatus: PremiumServiceStatusSchema,
    rm.SigningKeyView: SigningKeySchema,
    rm.LicenseHistoryView: LicenseWithHistorySchema,
    rm.LicenseChangeView: LicenseChangeRow,
    rm.ContractPaymentView: PaymentSchema,
    rm.ContractDetail: ContractSchema,
    rm.PlanPeriodView: PlanChangeRow,
}
SCHEMA_OF.update({read_model: _schema_following(read_model) for read_model in _FOLLOWING})

#: what each schema presents: a read model's whole schema, or a part of it some readers see
PRESENTS: dict[type[ma.Schema], type] = {
    **{schema: read_model for read_model, schema in SCHEMA_OF.items()},
    KeySchema: rm.KeyView,
    LicenseSchema: rm.LicenseView,
    CaseSchema: rm.CaseView,
    GrantedCaseSchema: rm.CaseView,
    AnalystCaseSchema: rm.CaseView,
}


def dump(view: Any) -> Any:
    """A read model (or a list of them) as the JSON its schema writes."""
    if isinstance(view, list | tuple):
        return [dump(v) for v in view]
    return SCHEMA_OF[type(view)]().dump(view)
