"""The portal's webhooks page: a customer's admin lists its endpoints, adds one (URL and event
types; the signing secret shown this once), rotates its secret, disables or deletes it, and
sees the recent deliveries, through the outreach façade as `/v1/webhooks` does. Its routes are
registered on the portal's blueprint; every write runs in the platform's unit of work."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from flask import abort, flash, redirect, url_for
from flask.typing import ResponseReturnValue
from flask_wtf import FlaskForm
from wtforms import SelectMultipleField, StringField, SubmitField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length
from wtforms.widgets import CheckboxInput, ListWidget

from licensesvc import outreach
from licensesvc.domain.errors import InvalidState, NotFound, ValidationFailed
from licensesvc.platform import transactions
from licensesvc.platform.context import ServiceContext
from licensesvc.platform.outbox import WEBHOOK_EVENT_DESCRIPTIONS, WebhookEvent
from licensesvc.web import db_session

from .rendering import render_template
from .views import _ctx, bp

#: the deliveries the page lists, newest first
RECENT_DELIVERIES = 20
T = TypeVar("T")


class WebhookForm(FlaskForm):  # type: ignore[misc]
    url = StringField(
        "Endpoint URL (https)",
        validators=[DataRequired(), Length(max=outreach.MAX_URL_CHARS)],
        render_kw={"inputmode": "url", "autocomplete": "url", "spellcheck": "false"},
    )
    events = SelectMultipleField(
        "Events it receives",
        choices=[SelectChoice(e.value, e.value) for e in WebhookEvent],
        # checked in add_webhook: a `required` on each checkbox would make browsers demand all
        widget=ListWidget(prefix_label=False),
        option_widget=CheckboxInput(),
    )
    submit = SubmitField("Add endpoint")


class EndpointActionForm(FlaskForm):  # type: ignore[misc]
    """Rotate, disable or delete: only the CSRF token."""


@dataclass(frozen=True)
class WebhooksPage:
    endpoints: list[outreach.EndpointView]
    deliveries: tuple[outreach.DeliveryView, ...]
    urls: dict[int, str]


def _page(ctx: ServiceContext) -> WebhooksPage:
    endpoints = outreach.list_endpoints(ctx)
    deliveries = outreach.list_deliveries(ctx, page_size=RECENT_DELIVERIES).items
    return WebhooksPage(endpoints, deliveries, {e.id: e.url for e in endpoints})


def _render(
    ctx: ServiceContext,
    form: WebhookForm,
    *,
    made: outreach.EndpointWithSecret | None = None,
    status: int = 200,
) -> ResponseReturnValue:
    return (
        render_template(
            "portal/webhooks.html",
            page=_page(ctx),
            form=form,
            action_form=EndpointActionForm(),
            event_descriptions={e.value: d for e, d in WEBHOOK_EVENT_DESCRIPTIONS.items()},
            made=made,
        ),
        status,
    )


def _write(ctx: ServiceContext, work: Callable[[], T]) -> T:
    return transactions.unit_of_work(db_session(), work)


@bp.get("/webhooks")
def webhooks() -> ResponseReturnValue:
    return _render(_ctx(), WebhookForm())


@bp.post("/webhooks")
def add_webhook() -> ResponseReturnValue:
    ctx = _ctx()
    form = WebhookForm()
    valid = form.validate()
    if not form.events.data:
        form.events.errors = [*form.events.errors, "Choose at least one event."]
        valid = False
    if not valid:
        return _render(ctx, form, status=422)
    try:
        made = _write(
            ctx, lambda: outreach.add_endpoint(ctx, form.url.data or "", form.events.data or [])
        )
    except ValidationFailed as exc:
        db_session().rollback()
        form.url.errors = [exc.message]
        return _render(ctx, form, status=422)
    return _render(ctx, WebhookForm(formdata=None), made=made)


def _endpoint_action(
    webhook_id: int, act: Callable[[ServiceContext], T], done: Callable[[T], str]
) -> ResponseReturnValue:
    if not EndpointActionForm().validate():
        abort(400)
    ctx = _ctx()
    try:
        result = _write(ctx, lambda: act(ctx))
    except NotFound:
        db_session().rollback()
        abort(404)
    except InvalidState as exc:
        db_session().rollback()
        flash(exc.message, "error")
        return redirect(url_for("portal.webhooks"))
    flash(done(result), "success")
    return redirect(url_for("portal.webhooks"))


@bp.post("/webhooks/<int(min=1, max=2147483647):webhook_id>/rotate-secret")
def rotate_webhook_secret(webhook_id: int) -> ResponseReturnValue:
    if not EndpointActionForm().validate():
        abort(400)
    ctx = _ctx()
    try:
        made = _write(ctx, lambda: outreach.rotate_secret(ctx, webhook_id))
    except NotFound:
        db_session().rollback()
        abort(404)
    return _render(ctx, WebhookForm(formdata=None), made=made)


@bp.post("/webhooks/<int(min=1, max=2147483647):webhook_id>/disable")
def disable_webhook(webhook_id: int) -> ResponseReturnValue:
    return _endpoint_action(
        webhook_id,
        lambda ctx: outreach.disable_endpoint(ctx, webhook_id),
        lambda e: f"{e.url} is disabled: it gets no more deliveries.",
    )


@bp.post("/webhooks/<int(min=1, max=2147483647):webhook_id>/delete")
def delete_webhook(webhook_id: int) -> ResponseReturnValue:
    return _endpoint_action(
        webhook_id,
        lambda ctx: outreach.delete_endpoint(ctx, webhook_id),
        lambda e: f"{e.url} is deleted, with its deliveries.",
    )
