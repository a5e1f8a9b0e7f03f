"""Chat pages: the room list, a room, and scheduling and hosting check-ins. Live traffic goes over /chat."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import DateTimeLocalField, IntegerField, SelectChoice, SelectField, StringField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional
from wtforms.widgets import HiddenInput

from forum import permissions, ratelimits
from forum.models.chat import CheckIn
from forum.services import chat, checkins

from .helpers import invalid_input

bp = Blueprint("chat", __name__, url_prefix="/chat")

AREA_CHOICES = [
    SelectChoice("", "Any area"),
    SelectChoice("grief", "Grief and loss"),
    SelectChoice("role_transitions", "Role transitions"),
    SelectChoice("disputes", "Interpersonal disputes"),
    SelectChoice("deficits", "Loneliness and connection"),
]


# The offsets clocks keep, in minutes east of UTC: from UTC-12 to UTC+14.
UTC_OFFSET_MIN, UTC_OFFSET_MAX = -12 * 60, 14 * 60


class CheckInForm(FlaskForm):
    title = StringField("Title", validators=[DataRequired(), Length(checkins.TITLE_MIN, checkins.TITLE_MAX)])
    area = SelectField("Area", choices=AREA_CHOICES, validators=[Optional()])
    # InputRequired, not DataRequired: a 0 or a date that does not exist (30 February) is answered with
    # what is wrong with it, not "This field is required".
    starts_at = DateTimeLocalField("Starts at", format="%Y-%m-%dT%H:%M", validators=[InputRequired()])
    # Minutes east of UTC of the host's own clock on the day entered, which the page's script fills in; with
    # no script it stays empty, and the form says the time is taken as UTC.
    utc_offset = IntegerField(
        widget=HiddenInput(), validators=[Optional(), NumberRange(UTC_OFFSET_MIN, UTC_OFFSET_MAX)]
    )
    length_minutes = IntegerField(
        "Length in minutes",
        default=60,
        validators=[InputRequired(), NumberRange(checkins.LENGTH_MIN, checkins.LENGTH_MAX)],
    )
    capacity = IntegerField(
        "Places", default=8, validators=[InputRequired(), NumberRange(checkins.CAPACITY_MIN, checkins.CAPACITY_MAX)]
    )


@bp.get("/")
@login_required
def index() -> ResponseReturnValue:
    rooms = chat.board_rooms()
    upcoming = checkins.upcoming()
    unread = chat.unread_counts(current_user, rooms + [c.room for c in upcoming])
    places = checkins.places(current_user, upcoming)
    return render_template("chat/index.html", rooms=rooms, checkins=upcoming, unread_by_room=unread, places=places)


@bp.get("/<key>")
@login_required
def room(key: str) -> ResponseReturnValue:
    room = chat.get_room(key)
    checkin = chat.checkin_for(room)
    summary = checkins.summary_for(current_user, checkin) if checkin is not None else None
    places = checkins.places(current_user, [checkin]) if checkin is not None else {}
    return render_template("chat/room.html", room=room, checkin=checkin, summary=summary, places=places)


@bp.route("/check-ins/new", methods=["GET", "POST"])
@login_required
def new_checkin() -> ResponseReturnValue:
    permissions.ensure_can_host_checkin(current_user)
    form = CheckInForm()
    if form.validate_on_submit():
        assert form.starts_at.data is not None
        with invalid_input(form) as caught:
            checkin = checkins.schedule(
                current_user,
                title=form.title.data,
                area=form.area.data or None,
                starts_at=_entered_start(form.starts_at.data, form.utc_offset.data),
                length_minutes=form.length_minutes.data,
                capacity=form.capacity.data,
            )
        if caught.error is None:
            flash("The check-in is scheduled.", "success")
            return redirect(url_for("chat.room", key=checkin.room.key))
    status = 422 if request.method == "POST" else 200
    return render_template("chat/new_checkin.html", form=form), status


def _entered_start(entered: datetime, utc_offset: int | None) -> datetime:
    """The start as the host meant it: on their own clock when the page said its offset, otherwise in UTC."""
    return entered.replace(tzinfo=timezone(timedelta(minutes=utc_offset or 0))).astimezone(UTC)


@bp.post("/check-ins/<int:checkin_id>/state")
@login_required
def advance_checkin(checkin_id: int) -> ResponseReturnValue:
    checkin = checkins.advance(current_user, checkins.get_checkin(checkin_id), request.form.get("state"))
    return redirect(url_for("chat.room", key=checkin.room.key))


@bp.post("/check-ins/<int:checkin_id>/place")
@login_required
@ratelimits.limited("checkin_place")
def save_place(checkin_id: int) -> ResponseReturnValue:
    checkin = checkins.save_place(current_user, checkins.get_checkin(checkin_id))
    if checkin.state == "scheduled":
        flash("Your place is saved. We'll tell you when the check-in opens.", "success")
    else:
        flash("You have a place. Welcome in.", "success")
    return redirect(_back_to(checkin))


@bp.post("/check-ins/<int:checkin_id>/place/give-up")
@login_required
@ratelimits.limited("checkin_place")
def give_up_place(checkin_id: int) -> ResponseReturnValue:
    checkin = checkins.give_up_place(current_user, checkins.get_checkin(checkin_id))
    flash("You gave up your place. You can save one again while places are left.", "info")
    return redirect(_back_to(checkin))


def _back_to(checkin: CheckIn) -> str:
    """The list of check-ins when the button was pressed there before the check-in opened, otherwise its room
    (someone who takes a place in a running check-in is going in)."""
    if request.form.get("from") == "list" and checkin.state == "scheduled":
        return url_for("chat.index") + f"#checkin-{checkin.id}"
    return url_for("chat.room", key=checkin.room.key)


@bp.post("/<key>/slow-mode")
@login_required
def slow_mode(key: str) -> ResponseReturnValue:
    seconds = request.form.get("seconds", type=int)
    room = chat.set_slow_mode(current_user, chat.get_room(key), seconds if seconds is not None else -1)
    flash("Slow mode is off." if room.slow_mode_seconds == 0 else f"Slow mode: {room.slow_mode_seconds} s.", "info")
    return redirect(url_for("chat.room", key=room.key))


@bp.post("/<key>/close")
@login_required
def close(key: str) -> ResponseReturnValue:
    room = chat.close_room(current_user, chat.get_room(key))
    flash("The room is closed.", "info")
    return redirect(url_for("chat.room", key=room.key))


@bp.post("/<key>/reopen")
@login_required
def reopen(key: str) -> ResponseReturnValue:
    room = chat.reopen_room(current_user, chat.get_room(key))
    flash("The room is open again.", "info")
    return redirect(url_for("chat.room", key=room.key))
