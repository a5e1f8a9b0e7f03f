"""Flask-WTF forms: CSRF and field presence. The services own the real rules and answer with field errors."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, PasswordField, RadioField, SelectChoice, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from forum import limits


class TextArea(TextAreaField):
    """A textarea whose length is counted as the services count it. Browsers send each line break as CRLF,
    two characters, where the textarea's own maxlength and the services count one: a text that fitted
    the box was refused for being too long."""

    def process_formdata(self, valuelist: list[object]) -> None:
        super().process_formdata(valuelist)
        data: object = getattr(self, "data", None)
        if isinstance(data, str):
            self.data = data.replace("\r\n", "\n")


class RegisterForm(FlaskForm):
    username = StringField("Pseudonym", validators=[DataRequired(), Length(limits.USERNAME_MIN, limits.USERNAME_MAX)])
    password = PasswordField("Password", validators=[DataRequired(), Length(limits.PASSWORD_MIN, limits.PASSWORD_MAX)])
    email = StringField("Email (optional)", validators=[Optional(), Length(max=limits.EMAIL_MAX)])


class LoginForm(FlaskForm):
    username = StringField("Pseudonym", validators=[DataRequired(), Length(max=limits.USERNAME_MAX)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=limits.PASSWORD_MAX)])
    remember = BooleanField("Keep me signed in on this device (30 days)")


class ThreadForm(FlaskForm):
    title = StringField("Title", validators=[DataRequired(), Length(limits.TITLE_MIN, limits.TITLE_MAX)])
    body = TextArea("What would you like to say?", validators=[DataRequired(), Length(max=limits.BODY_MAX)])
    content_note = StringField("Content note (optional)", validators=[Optional(), Length(max=limits.CONTENT_NOTE_MAX)])
    anonymous = BooleanField("Post as \u201ca member\u201d")
    idempotency_key = HiddenField()


class ReplyForm(FlaskForm):
    body = TextArea("Your reply", validators=[DataRequired(), Length(max=limits.BODY_MAX)])
    content_note = StringField("Content note (optional)", validators=[Optional(), Length(max=limits.CONTENT_NOTE_MAX)])
    anonymous = BooleanField("Reply as \u201ca member\u201d")
    idempotency_key = HiddenField()
    reply_to = HiddenField()


class EditForm(FlaskForm):
    body = TextArea("Post", validators=[DataRequired(), Length(max=limits.BODY_MAX)])
    content_note = StringField("Content note (optional)", validators=[Optional(), Length(max=limits.CONTENT_NOTE_MAX)])


class ReportForm(FlaskForm):
    # The service checks the kind and says which to choose; WTForms' own "Not a valid choice" would not.
    kind = RadioField(
        "Tell the moderators privately",
        choices=[
            SelectChoice("worried", "I'm worried about this person"),
            SelectChoice("rules", "It breaks the rules"),
        ],
        validate_choice=False,
    )
    reason = TextArea(
        "Anything they should know? (optional)", validators=[Optional(), Length(max=limits.REPORT_REASON_MAX)]
    )


class ActionForm(FlaskForm):
    """A bare form for one-button POST actions (delete, pin, lock): CSRF only."""
