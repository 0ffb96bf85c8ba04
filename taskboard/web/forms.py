"""The page forms: field plumbing and CSRF only. The rules live in the services."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    HiddenField,
    PasswordField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import EqualTo
from wtforms.widgets import CheckboxInput, ListWidget, PasswordInput

from ..errors import DomainError
from ..models import STATUS_LABELS


def confirm_password_field() -> PasswordField:
    """ "Confirm password": must equal the form's `password`; kept on a validation error."""
    return PasswordField(
        "Confirm password",
        validators=[EqualTo("password", "The passwords do not match.")],
        widget=PasswordInput(hide_value=False),
    )


class RegisterForm(FlaskForm):
    # The passwords come back on a validation error too: nothing typed is lost.
    email = EmailField("Email")
    name = StringField("Name")
    password = PasswordField("Password", widget=PasswordInput(hide_value=False))
    confirm = confirm_password_field()


class LoginForm(FlaskForm):
    email = EmailField("Email")
    password = PasswordField("Password")


class ProjectForm(FlaskForm):
    title = StringField("Title")
    description = TextAreaField("Description")


class MemberForm(FlaskForm):
    email = EmailField("Email")


class TaskAddForm(FlaskForm):
    title = StringField("Title")


class MultiCheckboxField(SelectMultipleField):
    """Several choices as a list of checkboxes."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class TaskForm(FlaskForm):
    title = StringField("Title")
    description = TextAreaField("Description")
    status = SelectField(
        "Status",
        choices=[SelectChoice(value, label) for value, label in STATUS_LABELS.items()],
        validate_choice=False,
    )
    column = SelectField("Column", choices=[], validate_choice=False)
    assignees = MultiCheckboxField("Assignees", choices=[], validate_choice=False)
    labels = MultiCheckboxField("Labels", choices=[], validate_choice=False)
    due_date = StringField("Due date")
    due_time = StringField("Due time")  # optional: without it, the end of that day
    # The card's version when the form was filled in: a save over someone else's change
    # meanwhile is refused, and the form says so and keeps what was typed.
    version = HiddenField()


class CommentForm(FlaskForm):
    body = TextAreaField("Comment")


class ProfileForm(FlaskForm):
    name = StringField("Name")
    notifications = BooleanField("Email me about assignments, comments and due dates")


class PasswordForm(FlaskForm):
    current_password = PasswordField("Current password")
    # A wrong current password must not empty the new one the person just typed twice.
    password = PasswordField("New password", widget=PasswordInput(hide_value=False))
    confirm = PasswordField(
        "Confirm new password",
        validators=[EqualTo("password", "The passwords do not match.")],
        widget=PasswordInput(hide_value=False),
    )


def show_error(form: FlaskForm, error: DomainError, fields: dict[str, str] | None = None) -> None:
    """Put a service's error next to the field it names (or at the top of the form)."""
    name = (fields or {}).get(error.field or "", error.field)
    field = getattr(form, name, None) if name else None
    if field is not None and hasattr(field, "errors"):
        field.errors = [*list(field.errors or []), error.message]
    else:
        form.form_errors.append(error.message)


class ForgotPasswordForm(FlaskForm):
    email = EmailField("Email")


class ResetPasswordForm(FlaskForm):
    password = PasswordField("New password", widget=PasswordInput(hide_value=False))
    confirm = confirm_password_field()


class EmailChangeForm(FlaskForm):
    email = EmailField("New email")
    current_password = PasswordField("Current password")


class TokenForm(FlaskForm):
    name = StringField("Token name")
    scope = SelectField(
        "Scope",
        choices=[
            SelectChoice("read", "Read only"),
            SelectChoice("write", "Read and write"),
        ],
        validate_choice=False,
    )
    expires_in_days = StringField("Expires after (days)")
