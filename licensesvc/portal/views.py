"""The portal's pages. Each view parses its form, calls one function of `queries` (the service
layer behind it), commits when it changed something, and renders or redirects. No state
changes on GET; every POST carries a CSRF token (checked in `init_portal`)."""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    g,
    redirect,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_wtf.csrf import CSRFProtect
from markupsafe import Markup, escape
from werkzeug.exceptions import TooManyRequests
from wtforms.fields.choices import SelectChoice

from licensesvc import identity, ratelimit
from licensesvc.domain.errors import InvalidState, NotFound, Unauthorized, ValidationFailed
from licensesvc.issuance import KeyRequestOutcome
from licensesvc.platform import transactions
from licensesvc.platform.context import Actor, ServiceContext
from licensesvc.readmodels import EntitlementReport
from licensesvc.web import db_session, runtime_of, service_context

from . import queries, sessions
from .forms import (
    CreateTokenForm,
    EscalateForm,
    KeyRequestForm,
    NewPasswordForm,
    RevokeTokenForm,
    SignInForm,
    SignOutForm,
)
from .rendering import render_template

bp = Blueprint("portal", __name__)

#: endpoints a signed-out visitor may reach
PUBLIC_ENDPOINTS = frozenset({"portal.login", "portal.reset_password"})
CASES_PER_PAGE = 20
SIGN_IN_ACTOR = Actor("system", "portal-sign-in")

#: CSRF protection, checked for every portal POST in require_sign_in (not for the API)
csrf = CSRFProtect()


def _ctx() -> ServiceContext:
    user: sessions.SignedIn = g.portal_user
    return service_context(user.actor)


def _customer_id() -> int:
    user: sessions.SignedIn = g.portal_user
    return user.customer_id


def _safe_next(target: str | None) -> str:
    """Only a path on this site: never another host (an open redirect)."""
    if not target:
        return url_for("portal.dashboard")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return url_for("portal.dashboard")
    return target


def _zone() -> queries.TimeZone | None:
    """The signed-in customer's time zone, read once per request when a page shows a time
    (on the request's session: never before a view that signs out)."""
    if g.get("portal_user") is None:
        return None
    if "portal_zone" not in g:
        g.portal_zone = queries.customer_zone(_ctx(), _customer_id())
    zone: queries.TimeZone = g.portal_zone
    return zone


@bp.before_request
def require_sign_in() -> ResponseReturnValue | None:
    g.portal_user = sessions.load()
    if g.portal_user is None and request.endpoint not in PUBLIC_ENDPOINTS:
        if getattr(g, "session_expired", False):
            flash("Your session ended. Please sign in again.", "info")
        nxt = request.full_path.rstrip("?") if request.method == "GET" else None
        return redirect(
            url_for("portal.login", next=nxt) if nxt != "/" else url_for("portal.login")
        )
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        csrf.protect()
    return None


@bp.app_context_processor
def portal_globals() -> dict[str, Any]:
    return {
        "signed_in": g.get("portal_user"),
        "sign_out_form": SignOutForm() if g.get("portal_user") else None,
        "kind_labels": queries.KIND_LABELS,
        "kind_nouns": queries.KIND_NOUNS,
        "escalation_reasons": queries.ESCALATION_REASONS,
        "service_labels": queries.SERVICE_LABELS,
        "time_zone": _zone(),
    }


# -- signing in and out -------------------------------------------------------------------


def _throttle_sign_in(email: str) -> None:
    """Count the attempt against the rate limiter's sign-in limits (attempts per address,
    failures per email and address, the email's short lockout: licensesvc/ratelimit.py);
    past them, the portal's 429 page with Retry-After."""
    try:
        ratelimit.hit_sign_in(email)
    except ratelimit.SignInThrottled as throttled:
        minutes = -(-throttled.retry_after // 60)
        wait = (
            f"{throttled.retry_after} seconds"
            if throttled.retry_after < 120
            else f"{minutes} minutes"
        )
        error = TooManyRequests(f"Too many sign-in attempts. Try again in {wait}.")
        error.retry_after = throttled.retry_after
        raise error from None


@bp.route("/login", methods=["GET", "POST"])
def login() -> ResponseReturnValue:
    if g.portal_user is not None:
        return redirect(url_for("portal.dashboard"))
    form = SignInForm()
    error = None
    status = 200
    if request.method == "POST":
        _throttle_sign_in(form.email.data or "")
        if form.validate():
            ctx = runtime_of().context(db_session(), SIGN_IN_ACTOR)
            try:
                user = identity.sign_in_user(ctx, form.email.data or "", form.password.data or "")
            except Unauthorized:
                db_session().rollback()
                ratelimit.count_sign_in_failure(form.email.data or "")
                error, status = "Wrong email or password.", 401
            else:
                db_session().commit()
                sessions.start(user.id)
                return redirect(_safe_next(request.args.get("next")))
        else:
            error, status = "Enter your email and your password.", 422
    return render_template("portal/login.html", form=form, error=error), status


@bp.post("/logout")
def logout() -> ResponseReturnValue:
    sessions.end()
    flash("You are signed out.", "info")
    return redirect(url_for("portal.login"))


@bp.route("/reset-password/<token>", methods=["GET", "POST"])
def reset_password(token: str) -> ResponseReturnValue:
    now = runtime_of().clock()
    try:
        user = identity.check_reset_token(db_session(), token, now)
    except NotFound as exc:
        return render_template("portal/reset_invalid.html", message=exc.message), 404
    form = NewPasswordForm()
    if request.method == "POST" and form.validate():
        ctx = service_context(identity.actor_for(user))
        try:
            identity.finish_password_reset(ctx, token, form.password.data or "")
        except ValidationFailed as exc:
            db_session().rollback()
            form.password.errors = [exc.message]
        else:
            db_session().commit()
            sessions.end_all_for(user.id)
            sessions.end()
            flash("Your new password is set. Sign in with it.", "info")
            return redirect(url_for("portal.login"))
    status = 422 if request.method == "POST" else 200
    return render_template("portal/reset_password.html", form=form, email=user.email), status


# -- dashboard, licenses and keys ---------------------------------------------------------


@bp.get("/")
def dashboard() -> ResponseReturnValue:
    data = queries.dashboard(_ctx(), _customer_id())
    return render_template(
        "portal/dashboard.html",
        d=data,
        rep=data.report,
        new_form_token=lambda: secrets.token_urlsafe(24),  # one-click refresh, issued once
    )


@bp.get("/licenses")
def licenses() -> ResponseReturnValue:
    ctx = _ctx()
    rep = queries.report(ctx, _customer_id())
    return render_template(
        "portal/licenses.html", rows=queries.licenses(ctx, _customer_id(), rep), rep=rep
    )


@bp.get("/keys/<serial>")
def key(serial: str) -> ResponseReturnValue:
    ctx = _ctx()
    k, row = queries.key(ctx, serial)
    return render_template(
        "portal/key.html",
        key=k,
        row=row,
        license_file=queries.license_file(ctx, serial),
        log_commitment=queries.log_commitment(ctx, _customer_id()),
        base_url=request.url_root.rstrip("/"),
    )


@bp.get("/keys/<serial>/download/<fmt>")
def download_key(serial: str, fmt: str) -> ResponseReturnValue:
    if fmt not in ("text", "file"):
        abort(404)
    ctx = _ctx()
    k, _ = queries.key(ctx, serial)
    body, name = (
        (k.key + "\n", f"{k.serial}.key")
        if fmt == "text"
        else (queries.license_file(ctx, serial), f"{k.serial}.lic")
    )
    return Response(
        body,
        mimetype="text/plain",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


# -- requests ------------------------------------------------------------------------------


def _form_token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _request_form(kind: str) -> tuple[KeyRequestForm, EntitlementReport]:
    ctx = _ctx()
    rep = queries.report(ctx, _customer_id())
    if kind not in queries.REQUEST_KINDS:
        # a kind the plan lacks is still asked for: refused plan_not_eligible, escalatable
        abort(404, description="There is no such kind of key to request.")
    form = KeyRequestForm()
    lics = queries.licenses(ctx, _customer_id(), rep)
    form.license_id.choices = [
        SelectChoice(str(r.license.id), f"{r.license.product} #{r.license.id} on {r.license.host}")
        for r in lics
    ]
    form.kind.data = kind
    return form, rep


@bp.get("/requests/new")
def new_request() -> ResponseReturnValue:
    kind = request.args.get("kind")
    if not kind:
        rep = queries.report(_ctx(), _customer_id())
        return render_template(
            "portal/request_choose.html",
            rep=rep,
            request_kinds=[kind.value for kind in queries.REQUEST_KINDS],
        )
    form, rep = _request_form(kind)
    # the page runs a dry run: counted as the API counts one (429 page past the limit)
    ratelimit.hit_customer_limit("key_requests", _customer_id())
    license_id = request.args.get("license_id", type=int)
    if license_id is not None:
        form.license_id.data = license_id
    if request.args.get("host"):
        form.host.data = request.args["host"]
    if kind == "dr_test" and form.dr_test_date.data is None:
        form.dr_test_date.data = queries.default_dr_date(rep.as_of)
    form.form_token.data = secrets.token_urlsafe(24)
    checks, decision = None, None
    if form.license_id.choices:
        if form.license_id.data is None:
            form.license_id.data = int(form.license_id.choices[0].value)
        decision = queries.dry_run(_ctx(), _input_of(form, kind))
        checks = [(queries.check_label(c), c) for c in decision.checks]
    return render_template(
        "portal/request_form.html",
        form=form,
        kind=kind,
        rep=rep,
        checks=checks,
        decision=decision,
    )


def _input_of(form: KeyRequestForm, kind: str) -> Any:
    return queries.request_input(
        form.license_id.data or 0,
        kind,
        reason=form.reason.data if kind == "temporary" else None,
        dr_test_date=form.dr_test_date.data if kind == "dr_test" else None,
        host=form.host.data or None,  # the form applied the host rule; nothing stripped
    )


@bp.post("/requests/new")
def submit_request() -> ResponseReturnValue:
    kind = request.form.get("kind", "")
    # dry runs and requests count against the customer's limit, on the API's counter
    ratelimit.hit_customer_limit("key_requests", _customer_id())
    form, rep = _request_form(kind)
    if not form.validate():
        return (
            render_template("portal/request_form.html", form=form, kind=kind, rep=rep, checks=None),
            422,
        )
    ctx = _ctx()
    req = _input_of(form, kind)
    if not form.confirm.data:
        decision = queries.dry_run(ctx, req)
        checks = [(queries.check_label(c), c) for c in decision.checks]
        if request.headers.get("X-Portal-Fragment") == "checks":
            return render_template("portal/_checks.html", checks=checks, decision=decision)
        return render_template(
            "portal/request_form.html",
            form=form,
            kind=kind,
            rep=rep,
            checks=checks,
            decision=decision,
        )
    if not request.form.get("confirm_stops"):
        # a request that ends an overlap cuts a server off: say which, and ask first
        decision = queries.dry_run(ctx, req)
        if decision.granted and decision.stops_working_on:
            checks = [(queries.check_label(c), c) for c in decision.checks]
            page = render_template(
                "portal/request_form.html",
                form=form,
                kind=kind,
                rep=rep,
                checks=checks,
                decision=decision,
                confirm_needed=True,
            )
            return page, 409
    return _submit_once(ctx, form.form_token.data or "", req)


def _submit_once(ctx: ServiceContext, token: str, req: Any) -> ResponseReturnValue:
    """Issue at most once per rendered form: the form's single-use token is stored with the
    case in the same transaction; a repeat finds it and shows the first outcome."""
    if len(token) < 20:
        abort(400, description="This form is incomplete. Open the request page again.")
    # one unit of work, run again after a lost lock race, as the API's
    done = transactions.unit_of_work(
        ctx.session, lambda: _submit_attempt(ctx, _form_token_hash(token), req)
    )
    if not isinstance(done, KeyRequestOutcome):
        return done  # the form was sent before: its first case
    if done.key is not None:
        flash(f"Key {done.key.serial} issued.", "success")
    return redirect(url_for("portal.case", case_number=done.case.case_number))


def _submit_attempt(
    ctx: ServiceContext, digest: str, req: Any
) -> ResponseReturnValue | KeyRequestOutcome:
    user: sessions.SignedIn = g.portal_user
    db = ctx.session

    def earlier() -> ResponseReturnValue | None:
        sent = identity.find_form_token(db, digest)
        if sent is None:
            return None
        if sent.user_id != user.user_id or sent.case_number is None:
            abort(409, description="This form was already sent. Open the request page again.")
        flash("This request was already sent; here is its case.", "info")
        return redirect(url_for("portal.case", case_number=sent.case_number))

    seen = earlier()
    if seen is not None:
        return seen
    if not identity.claim_form_token(db, digest, user.user_id, ctx.now()):
        # another submission of the same form committed first (PostgreSQL waited for it)
        seen = earlier()
        if seen is not None:
            return seen
        raise RuntimeError("a form's token was taken by a submission that recorded nothing")
    outcome = queries.submit(ctx, req)  # granted or refused, committed with the token
    identity.record_form_case(db, digest, outcome.case.case_number)
    return outcome


# -- cases ---------------------------------------------------------------------------------


@bp.get("/cases")
def cases() -> ResponseReturnValue:
    page = max(request.args.get("page", 1, type=int) or 1, 1)
    data = queries.case_page(_ctx(), page, CASES_PER_PAGE)
    if page > 1 and not data.cases:
        abort(404, description=f"There is no page {page} of cases.")
    return render_template("portal/cases.html", p=data)


def _render_case(
    case_number: str, form: EscalateForm | None = None, status: int = 200
) -> tuple[str, int]:
    ctx = _ctx()
    c = queries.case(ctx, case_number)
    key_row = None
    if c.key_serial:
        _, key_row = queries.key(ctx, c.key_serial)
    return (
        render_template(
            "portal/case.html",
            case=c,
            key_row=key_row,
            can_escalate=queries.can_escalate(c),
            # "escalate again" starts from the case's own severity, never a downgrade
            form=form or EscalateForm(severity=c.severity),
            reasons=queries.ESCALATION_REASONS
            if c.status == "refused"
            else queries.ESCALATE_AGAIN_REASONS,
            severities=queries.SEVERITY_CHOICES,
            support_phone=queries.support_phone(ctx),
            support_email=queries.support_email(ctx),
        ),
        status,
    )


@bp.get("/cases/<case_number>")
def case(case_number: str) -> ResponseReturnValue:
    return _render_case(case_number)


@bp.post("/cases/<case_number>/escalate")
def escalate(case_number: str) -> ResponseReturnValue:
    ratelimit.hit_customer_limit("escalations", _customer_id())
    form = EscalateForm()
    if not form.validate():
        return _render_case(case_number, form, 422)
    ctx = _ctx()

    def attempt() -> None:
        queries.escalate(
            ctx,
            case_number,
            form.reason.data or None,
            form.note.data,
            form.severity.data,
        )

    try:
        # one unit of work, run again after a lost lock race, as the API's
        transactions.unit_of_work(db_session(), attempt)
    except (InvalidState, ValidationFailed) as exc:
        db_session().rollback()
        form.form_errors.append(exc.message)
        return _render_case(case_number, form, 409 if isinstance(exc, InvalidState) else 422)
    flash(f"Case {case_number} is escalated. An analyst will respond.", "success")
    return redirect(url_for("portal.case", case_number=case_number))


# -- API tokens ----------------------------------------------------------------------------


@bp.get("/tokens")
def tokens() -> ResponseReturnValue:
    return render_template(
        "portal/tokens.html",
        rows=queries.token_rows(_ctx()),
        create_form=CreateTokenForm(),
        revoke_form=RevokeTokenForm(),
        new_token=None,
    )


@bp.post("/tokens")
def create_token() -> ResponseReturnValue:
    form = CreateTokenForm()
    ctx = _ctx()
    if not form.validate():
        page = render_template(
            "portal/tokens.html",
            rows=queries.token_rows(ctx),
            create_form=form,
            revoke_form=RevokeTokenForm(),
            new_token=None,
        )
        return page, 422
    user: sessions.SignedIn = g.portal_user
    try:
        rec, token = queries.create_token(
            ctx, form.name.data or "", form.expires_in_days.data or 0, user.user_id
        )
    except ValidationFailed as exc:
        db_session().rollback()
        form.name.errors = [exc.message]
        page = render_template(
            "portal/tokens.html",
            rows=queries.token_rows(ctx),
            create_form=form,
            revoke_form=RevokeTokenForm(),
            new_token=None,
        )
        return page, 422
    db_session().commit()
    return render_template(
        "portal/tokens.html",
        rows=queries.token_rows(ctx),
        create_form=CreateTokenForm(),
        revoke_form=RevokeTokenForm(),
        new_token=token,
        new_prefix=rec.prefix,
        new_name=rec.name,
    )


@bp.get("/tokens/<int:token_id>/revoke")
def confirm_revoke_token(token_id: int) -> ResponseReturnValue:
    """Revoking asks first: this page names the token and what stops; its button revokes."""
    row = queries.token_row(_ctx(), token_id)
    return render_template("portal/token_revoke.html", t=row, revoke_form=RevokeTokenForm())


@bp.post("/tokens/<int:token_id>/revoke")
def revoke_token(token_id: int) -> ResponseReturnValue:
    ctx = _ctx()
    try:
        rec = queries.revoke_token(ctx, token_id)
    except InvalidState as exc:
        db_session().rollback()
        flash(exc.message, "error")
        return redirect(url_for("portal.tokens"))
    db_session().commit()
    named = f"“{rec.name}” ({rec.prefix}…)" if rec.name else f"{rec.prefix}…"
    flash(f"Token {named} is revoked; it stops working at once.", "success")
    return redirect(url_for("portal.tokens"))


@bp.app_template_filter("when")
def format_when(value: Any) -> str:
    """A timestamp as the pages show it: to the minute in the signed-in customer's time zone
    (its region's), the zone named ("2026-03-02 09:00 GMT"); UTC when nobody is signed in."""
    if value is None:
        return "—"
    if not isinstance(value, datetime):
        return str(value)
    moment: datetime = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    tz = _zone()
    if tz is None:
        return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return moment.astimezone(tz.zone).strftime("%Y-%m-%d %H:%M %Z")


@bp.app_template_filter("local_times")
def format_local_times(value: Any) -> str:
    """The services' words with each UTC moment in them ("19:34Z") shown in the signed-in
    customer's zone, as `when` shows a time."""
    return queries.times_in_zone(str(value), _zone())


@bp.app_template_filter("sentence")
def format_sentence(value: Any) -> str:
    """The first letter in upper case and nothing else changed (Jinja's `capitalize` lowers the
    rest: "19:34Z" became "19:34z", "DR-test" "dr-test")."""
    text = str(value)
    return text[:1].upper() + text[1:]


@bp.app_template_filter("tel_href")
def format_tel_href(phone: Any) -> str:
    """A `tel:` URI of a phone number as written ("1-800-261-5267"): digits, + and -."""
    return "tel:" + "".join(c for c in str(phone) if c.isdigit() or c in "+-")


@bp.app_template_filter("tel_links")
def format_tel_links(text: Any, phone: str | None) -> Markup:
    """text, escaped, with the phone number in it a `tel:` link."""
    escaped = escape(str(text))
    if not phone:
        return escaped
    link = Markup('<a href="{}">{}</a>').format(format_tel_href(phone), phone)
    return Markup(escaped.replace(escape(phone), link))


@bp.app_template_filter("day")
def format_day(value: Any) -> str:
    if value is None:
        return "—"
    return str(value.strftime("%Y-%m-%d")) if hasattr(value, "strftime") else str(value)
