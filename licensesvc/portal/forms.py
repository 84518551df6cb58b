"""The portal's forms (Flask-WTF: each carries its CSRF token)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (
    DateField,
    HiddenField,
    IntegerField,
    PasswordField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import (
    DataRequired,
    EqualTo,
    Length,
    NumberRange,
    Optional,
    ValidationError,
)

from licensesvc.domain.hosts import host_problem
from licensesvc.domain.text import text_problem
from licensesvc.identity import TOKEN_NAME_MAX

from .queries import ESCALATION_REASONS, SEVERITY_CHOICES, TEMPORARY_REASON_LABELS


class SignInForm(FlaskForm):  # type: ignore[misc]
    email = StringField(
        "Email",
        validators=[DataRequired(), Length(max=200)],
        render_kw={"autocomplete": "username"},
    )
    password = PasswordField(
        "Password",
        validators=[DataRequired(), Length(max=1000)],
        render_kw={"autocomplete": "current-password"},
    )
    submit = SubmitField("Sign in")


class SignOutForm(FlaskForm):  # type: ignore[misc]
    submit = SubmitField("Sign out")


class NewPasswordForm(FlaskForm):  # type: ignore[misc]
    password = PasswordField(
        "New password (at least 12 characters)",
        validators=[DataRequired(), Length(min=12, max=1000)],
        render_kw={"autocomplete": "new-password"},
    )
    confirm = PasswordField(
        "Repeat the new password",
        validators=[DataRequired(), EqualTo("password", message="The passwords differ.")],
        render_kw={"autocomplete": "new-password"},
    )
    submit = SubmitField("Set password")


def _host_name(form: FlaskForm, field: StringField) -> None:
    """The services' one host rule (licensesvc/domain/hosts.py): nothing is stripped."""
    problem = host_problem(field.data)
    if problem is not None:
        raise ValidationError(problem)


class KeyRequestForm(FlaskForm):  # type: ignore[misc]
    """One form for every kind; the template shows the fields the kind needs."""

    license_id = SelectField("License", coerce=int, validators=[DataRequired()])
    kind = HiddenField(validators=[DataRequired()])
    host = StringField(
        "New host (optional; leave empty to keep the license's host)",
        # only an empty field keeps the license's host; anything else meets the host rule
        validators=[Optional(strip_whitespace=False), _host_name],
    )
    dr_test_date = DateField("Date of the DR test", validators=[Optional()])
    reason = SelectField(
        "Reason",
        choices=[SelectChoice("", "Choose a reason")]
        + [SelectChoice(v, label) for v, label in TEMPORARY_REASON_LABELS.items()],
        validators=[Optional()],
    )
    #: the single-use token of this rendered form: a second submission issues nothing
    form_token = HiddenField()
    check = SubmitField("Check this request")
    confirm = SubmitField("Submit request")


class EscalateForm(FlaskForm):  # type: ignore[misc]
    """Escalate a case. No reason chosen: the service's default for the case, as the API's;
    the severity defaults to the case's own (views pass it), so a careless submit never
    changes it."""

    reason = SelectField(
        "Why are you escalating?",
        choices=[SelectChoice("", "(the case's default)")]
        + [SelectChoice(v, label) for v, label in ESCALATION_REASONS.items()],
        default="",
    )
    severity = SelectField(
        "Severity",
        coerce=int,
        choices=[SelectChoice(str(s.level), s.label) for s in SEVERITY_CHOICES],
    )
    note = TextAreaField(
        "Note for the analyst (optional)", validators=[Optional(), Length(max=2000)]
    )
    submit = SubmitField("Escalate")


def _one_line(form: FlaskForm, field: StringField) -> None:
    """The services' text rule for a name: no control character (nothing stripped)."""
    problem = text_problem(field.data or "")
    if problem is not None:
        raise ValidationError(f"The name {problem}.")


class CreateTokenForm(FlaskForm):  # type: ignore[misc]
    name = StringField(
        "Name (what the token is for, e.g. nightly deploy)",
        validators=[
            DataRequired(message="Give the token a name, to tell it apart."),
            Length(max=TOKEN_NAME_MAX),
            _one_line,
        ],
        render_kw={"autocomplete": "off", "maxlength": TOKEN_NAME_MAX},
    )
    expires_in_days = SelectField(
        "Expires",
        coerce=int,
        choices=[
            SelectChoice("90", "in 90 days"),
            SelectChoice("30", "in 30 days"),
            SelectChoice("365", "in a year"),
            SelectChoice("0", "never (until revoked)"),
        ],
        default=90,
    )
    submit = SubmitField("Create a token")


class RevokeTokenForm(FlaskForm):  # type: ignore[misc]
    token_id = IntegerField(validators=[DataRequired(), NumberRange(min=1)])
    submit = SubmitField("Revoke")
