"""Personal practice pages under /me: homework, journal, mood log, relapse plan. Thin adapters over the services.

Importing this module imports forum.services.practice, which registers every part with the personal-data
registry (export and account deletion) at app start.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask.blueprints import BlueprintSetupState
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from markupsafe import Markup
from wtforms import BooleanField, HiddenField, StringField
from wtforms.validators import DataRequired, Length, Optional

from forum import charts, limits, permissions, ratelimits
from forum.forms import TextArea
from forum.guides import get_guide
from forum.models import MoodEntry
from forum.services.errors import Conflict, NotFound, ServiceError
from forum.services.practice import homework, journal, mood, plan
from forum.services.practice.days import person_today, utc_today
from forum.support import resources_for

from .helpers import fresh_idempotency_key, invalid_input, remember_support, take_support

bp = Blueprint("practice", __name__, url_prefix="/me")


@bp.record_once
def _install_template_globals(state: BlueprintSetupState) -> None:
    # A global, not a context processor: _macros.html is imported without context; globals still reach it.
    state.app.jinja_env.globals["relapse_plan_panel"] = relapse_plan_panel
    # The guide page's "add to my week" form is written by hand in a partial; each render gets a new key.
    state.app.jinja_env.globals["fresh_idempotency_key"] = fresh_idempotency_key


def relapse_plan_panel() -> Markup:
    """The signed-in person's own plan, for the support panel; nothing for anyone else or an empty plan."""
    mine = plan.get_plan(current_user)
    if not plan.has_content(mine):
        return Markup("")
    assert mine is not None
    html = render_template("practice/_plan_in_panel.html", plan=mine, sections=_plan_sections(mine))
    return Markup(html)  # noqa: S704  (an autoescaped template's output)


def _plan_sections(mine: Any) -> list[tuple[plan.Section, list[str]]]:
    return [(section, plan.lines(mine, section.name)) for section in plan.SECTIONS if plan.lines(mine, section.name)]


def _local_today_or_utc() -> Any:
    try:
        return person_today(request.values.get("local_today"))
    except ServiceError:
        return utc_today()


def _unprocessable(template: str, **context: Any) -> tuple[str, int]:
    return render_template(template, **context), 422


# --- forms --------------------------------------------------------------------------------------


class HomeworkAddForm(FlaskForm):
    guide = HiddenField(validators=[DataRequired()])
    idempotency_key = HiddenField()
    due_on = StringField("Do it by", render_kw={"type": "date"}, validators=[Optional()])
    local_today = HiddenField(render_kw={"data-local-today": ""})


class HomeworkDoneForm(FlaskForm):
    reflection = TextArea(
        "How did it go? (optional, only you see this)", validators=[Optional(), Length(max=homework.REFLECTION_MAX)]
    )
    local_today = HiddenField(render_kw={"data-local-today": ""})


class JournalForm(FlaskForm):
    title = StringField("Title (optional)", validators=[Optional(), Length(max=journal.TITLE_MAX)])
    body = TextArea("Your entry", validators=[DataRequired(), Length(max=limits.BODY_MAX)])
    guide = HiddenField()
    idempotency_key = HiddenField()
    seen = HiddenField()  # the entry's version when an edit was opened (journal.version_of)


class CheckInForm(FlaskForm):
    note = TextArea(
        "Anything you'd like them to know (optional)", validators=[Optional()]
    )  # no length limit here: a long note is cut, never a reason to refuse the request (review.request_check_in)


class MoodForm(FlaskForm):
    slept_well = BooleanField(mood.TAGS["slept_well"])
    saw_someone = BooleanField(mood.TAGS["saw_someone"])
    went_outside = BooleanField(mood.TAGS["went_outside"])
    argued = BooleanField(mood.TAGS["argued"])
    day = StringField("Day", render_kw={"type": "date"}, validators=[Optional()])
    local_today = HiddenField(render_kw={"data-local-today": ""})
    # The day whose saved tags the boxes came ticked from: those ticks must not reach another day unseen.
    tags_from = HiddenField()


class PlanForm(FlaskForm):
    warning_signs = TextArea(plan.SECTIONS[0].title, validators=[Optional()])
    triggers = TextArea(plan.SECTIONS[1].title, validators=[Optional()])
    what_helps = TextArea(plan.SECTIONS[2].title, validators=[Optional()])
    people = TextArea(plan.SECTIONS[3].title, validators=[Optional()])
    professionals = TextArea(plan.SECTIONS[4].title, validators=[Optional()])
    crisis_lines = TextArea(plan.SECTIONS[5].title, validators=[Optional()])
    seen = HiddenField()  # the plan's version when the page was opened (plan.version_of)


# --- overview -----------------------------------------------------------------------------------


@bp.get("/practice")
@login_required
def overview() -> ResponseReturnValue:
    today = _local_today_or_utc()
    return render_template(
        "practice/overview.html",
        week=homework.weekly_summary(current_user, today),
        today_mood=mood.entry_for(current_user, today),
        summary=mood.window(current_user, 30, today)[1],
        has_plan=plan.has_content(plan.get_plan(current_user)),
    )


# --- homework -----------------------------------------------------------------------------------


@bp.get("/homework")
@login_required
def homework_list() -> ResponseReturnValue:
    return _homework_page()


def _homework_page(typed: dict[int, str] | None = None, status: int = 200) -> ResponseReturnValue:
    """The list; `typed`: a refused reflection, by item id, shown again in its box rather than lost."""
    today = _local_today_or_utc()
    page = render_template(
        "practice/homework.html",
        support=take_support(),
        items=homework.items_for(current_user),
        week=homework.weekly_summary(current_user, today),
        today=today,
        done_form=HomeworkDoneForm(),
        typed=typed or {},
    )
    return page, status


@bp.post("/homework")
@login_required
def homework_add() -> ResponseReturnValue:
    form = HomeworkAddForm()
    if not form.validate_on_submit():
        raise NotFound("There is no guide practice with that name.")
    with invalid_input() as caught:
        added = homework.add_practice_once(
            current_user,
            form.guide.data,
            due_on=form.due_on.data,
            local_today=form.local_today.data,
            idempotency_key=form.idempotency_key.data,
        )
    if caught.error is not None:
        flash(caught.error.message, "error")
        return redirect(url_for("guides.guide", slug=form.guide.data))
    flash(*_added_message(added))
    return redirect(url_for("practice.homework_list", _anchor=f"h{added.item.id}"))


def _added_message(added: homework.PracticeAdded) -> tuple[str, str]:
    item = added.item
    practice, due = f"\u201c{item.practice}\u201d", f"{item.due_on:%A %d %B}"
    if added.already_listed:
        return (
            f"{practice} is already on your list, due {due}: not added again. To do it twice, pick another day.",
            "info",
        )
    return f"{practice} is on your list, due {due}.", "success"


@bp.post("/homework/<int:item_id>/done")
@login_required
def homework_done(item_id: int) -> ResponseReturnValue:
    item = permissions.ensure_can_manage_homework(current_user, homework.get_item(item_id))
    form = HomeworkDoneForm()
    if form.validate_on_submit():
        with invalid_input() as caught:
            done = homework.complete(
                current_user, item, reflection=form.reflection.data, local_today=form.local_today.data
            )
        if caught.error is None:
            flash("Checked off. Well done for trying it.", "success")
            # Crisis words in a reflection bring the support panel, as a journal entry's do (nobody is told).
            anchor = "support" if remember_support(done.screen) else None
            return redirect(url_for("practice.homework_list", _anchor=anchor))
        flash(caught.error.message, "error")
    else:
        flash(f"Please keep the reflection under {homework.REFLECTION_MAX:,} characters.", "error")
    return _homework_page({item.id: form.reflection.data or ""}, 422)


@bp.get("/homework/<int:item_id>/done")
@login_required
def homework_done_page(item_id: int) -> ResponseReturnValue:
    """A reflection's own address, asked for with GET: signing in again after a session ended mid-reflection
    comes back here (the sign-in page's `next`), and lands on the practice, its words kept in the tab."""
    item = permissions.ensure_can_manage_homework(current_user, homework.get_item(item_id))
    return redirect(url_for("practice.homework_list", _anchor=f"h{item.id}"))


@bp.post("/homework/<int:item_id>/reopen")
@login_required
def homework_reopen(item_id: int) -> ResponseReturnValue:
    homework.reopen(current_user, permissions.ensure_can_manage_homework(current_user, homework.get_item(item_id)))
    return redirect(url_for("practice.homework_list"))


@bp.post("/homework/<int:item_id>/delete")
@login_required
def homework_delete(item_id: int) -> ResponseReturnValue:
    homework.remove(current_user, permissions.ensure_can_manage_homework(current_user, homework.get_item(item_id)))
    flash("Removed from your list.", "info")
    return redirect(url_for("practice.homework_list"))


# --- journal ------------------------------------------------------------------------------------


@bp.get("/journal")
@login_required
def journal_list() -> ResponseReturnValue:
    entries, pages = journal.entries_for(current_user, request.args.get("page", 1, type=int) or 1)
    return render_template(
        "practice/journal_list.html",
        entries=entries,
        pages=pages,
        page=request.args.get("page", 1, type=int) or 1,
        guides=journal.guides_with_prompts(),
    )


@bp.route("/journal/new", methods=["GET", "POST"])
@login_required
def journal_new() -> ResponseReturnValue:
    form = JournalForm()
    guide = get_guide(request.values.get("guide", "")) if request.values.get("guide") else None
    if form.validate_on_submit():
        with invalid_input(form) as caught:
            outcome = journal.write_entry(
                current_user,
                title=form.title.data,
                body=form.body.data,
                guide_slug=form.guide.data or None,
                idempotency_key=form.idempotency_key.data,
            )
        if caught.error is None:
            return redirect(_entry_url(outcome.entry.id, remember_support(outcome.screen)))
    elif request.method == "GET" and guide is not None:
        form.guide.data = guide.slug
        form.body.data = journal.prompt_starter(guide)
    # A form sent back with an error keeps its key: fixing it and sending again is still one entry.
    form.idempotency_key.data = form.idempotency_key.data or fresh_idempotency_key()
    if request.method == "POST":
        return _unprocessable("practice/journal_form.html", form=form, guide=guide, entry=None)
    return render_template("practice/journal_form.html", form=form, guide=guide, entry=None)


def _changed_elsewhere(form: Any, changed: Conflict, version_now: str) -> int:
    """A save refused because another tab or device saved first: the words typed here come back in their boxes
    with why, and the form now carries the newer version, so saving again replaces it knowingly (409)."""
    form.form_errors.append(changed.message)
    form.seen.data = version_now
    return 409


def _entry_url(entry_id: int, with_support: bool) -> str:
    """An entry's page; at its support panel (#support) when the words brought one, as a post's does."""
    return url_for("practice.journal_entry", entry_id=entry_id, _anchor="support" if with_support else None)


@bp.get("/journal/<int:entry_id>")
def journal_entry(entry_id: int) -> ResponseReturnValue:
    # No login_required: a stranger, a moderator and an admin all get the same 404 as a missing entry.
    entry = permissions.ensure_can_read_journal(current_user, journal.get_entry(entry_id))
    support = take_support()
    if support is None and entry.screen_level in ("crisis", "unknown"):
        support = {"level": entry.screen_level, "guides": []}
    return render_template(
        "practice/journal_entry.html",
        entry=entry,
        support=support,
        guide=get_guide(entry.guide_slug) if entry.guide_slug else None,
        check_in_form=CheckInForm(),
    )


@bp.route("/journal/<int:entry_id>/edit", methods=["GET", "POST"])
def journal_edit(entry_id: int) -> ResponseReturnValue:
    entry = permissions.ensure_can_edit_journal(current_user, journal.get_entry(entry_id))
    form = JournalForm()
    status = 422 if request.method == "POST" else 200
    if form.validate_on_submit():
        try:
            with invalid_input(form) as caught:
                outcome = journal.edit_entry(
                    current_user, entry, title=form.title.data, body=form.body.data, seen=form.seen.data or None
                )
        except Conflict as changed:
            status = _changed_elsewhere(form, changed, journal.version_of(entry))
        else:
            if caught.error is None:
                flash("Saved.", "success")
                return redirect(_entry_url(entry.id, remember_support(outcome.screen)))
    elif request.method == "GET":
        form.title.data = entry.title
        form.body.data = entry.body_md
        form.seen.data = journal.version_of(entry)
    return render_template("practice/journal_form.html", form=form, guide=None, entry=entry), status


@bp.post("/journal/<int:entry_id>/delete")
def journal_delete(entry_id: int) -> ResponseReturnValue:
    entry = permissions.ensure_can_edit_journal(current_user, journal.get_entry(entry_id))
    journal.delete_entry(current_user, entry)
    flash("The entry was deleted.", "info")
    return redirect(url_for("practice.journal_list"))


@bp.post("/journal/check-in")
@login_required
@ratelimits.limited("check_in_request", words=("note",))
def journal_check_in() -> ResponseReturnValue:
    form = CheckInForm()
    if form.validate_on_submit():
        note = form.note.data or ""
        journal.request_check_in(current_user, note=note)
        flash("A moderator has been asked to check in with you. They can't see your journal.", "success")
        if len(note) > journal.CHECK_IN_NOTE_MAX:
            flash(f"Your note was long: they see its first {journal.CHECK_IN_NOTE_MAX:,} characters.", "info")
    back = request.form.get("back", type=int)
    if back:
        return redirect(url_for("practice.journal_entry", entry_id=back))
    return redirect(url_for("practice.journal_list"))


# --- mood ---------------------------------------------------------------------------------------


@bp.route("/mood", methods=["GET", "POST"])
@login_required
def mood_log() -> ResponseReturnValue:
    form = MoodForm()
    status = 200
    if form.validate_on_submit():
        logged = _save_mood(form)
        if logged is not None:
            flash(_logged_message(logged), "success")
            return redirect(url_for("practice.mood_log"))
        status = 422
    today = _local_today_or_utc()
    context = _mood_context(today)
    if request.method == "GET":
        form.day.data = today.isoformat()
        _tick_saved_tags(form, context["today_entry"])
    return render_template("practice/mood.html", form=form, **context), status


def _save_mood(form: MoodForm) -> mood.MoodLogged | None:
    """The mood the form sends, saved; None when it is refused, the form then saying why."""
    tags = [name for name in mood.TAGS if getattr(form, name).data]
    if _ticks_carried_to_another_day(form, tags):
        return None
    with invalid_input(form) as caught:
        logged = mood.log_mood(
            current_user,
            mood=request.form.get("mood"),
            tags=tags,
            day=form.day.data or None,
            local_today=form.local_today.data or None,
        )
    return logged if caught.error is None else None


def _tick_saved_tags(form: MoodForm, entry: MoodEntry | None) -> None:
    """A mood logged today comes back with its tags ticked: changing the number must not drop them. The form
    names the day they came from; static/js/site.js clears them while another day is chosen."""
    if entry is None or not entry.tags:
        return
    for name in entry.tags:
        getattr(form, name).data = True
    form.tags_from.data = entry.day.isoformat()


def _ticks_carried_to_another_day(form: MoodForm, tags: list[str]) -> bool:
    """Ticks that came filled in from one day, sent for another (no script cleared them): ask, rather than
    copy that day's tags over. The form comes back with them as the person's own, so sending it again saves."""
    source = form.tags_from.data
    chosen = form.day.data or _local_today_or_utc().isoformat()
    if not tags or not source or chosen == source:
        return False
    form.tags_from.data = ""
    form.form_errors.append(
        "The ticks were filled in from today's entry, not the day you chose. "
        "Untick any that don't fit that day, then choose its mood again."
    )
    return True


def _logged_message(logged: mood.MoodLogged) -> str:
    day = f"{logged.entry.day:%A %d %B}"
    if logged.replaced:
        return (
            f"Updated: your mood for {day} is now {logged.entry.mood}. "
            "(One mood per day; the new one replaced the earlier one.)"
        )
    return f"Logged {logged.entry.mood} for {day}."


def _tags_by_day(today: Any) -> dict[str, list[str]]:
    """Each recent day's saved tags, for static/js/site.js: choosing a day ticks what was saved for it, so a
    corrected number keeps them. A day either side of the server's: the person's own date may be either."""
    start, end = today - timedelta(days=mood.BACKFILL_DAYS + 1), today + timedelta(days=1)
    return {entry.day.isoformat(): list(entry.tags) for entry in mood.entries_between(current_user, start, end)}


def _mood_context(today: Any) -> dict[str, Any]:
    windows = []
    for days in mood.WINDOWS:
        entries, summary = mood.window(current_user, days, today)
        points = [charts.DayPoint(e.day, e.mood, marked=mood.SOCIAL_TAG in e.tags) for e in entries]
        svg = charts.daily_line_chart(
            f"mood-{days}",
            title=f"Mood over the last {days} days",
            desc=summary.text,
            start=summary.start,
            end=summary.end,
            points=points,
            point_label="{day}: mood {value} of 10",
        )
        windows.append({"days": days, "summary": summary, "svg": svg})
    return {
        "windows": windows,
        "today": today,
        "earliest": mood.earliest_backfill(today),
        "today_entry": mood.entry_for(current_user, today),
        "recent": mood.entries_between(current_user, today - timedelta(days=mood.BACKFILL_DAYS), today)[::-1],
        "day_tags": _tags_by_day(today),
        "tag_names": mood.TAGS,
        "moods": range(mood.MOOD_MIN, mood.MOOD_MAX + 1),
    }


# --- relapse plan -------------------------------------------------------------------------------


@bp.route("/plan", methods=["GET", "POST"])
@login_required
def relapse_plan() -> ResponseReturnValue:
    form = PlanForm()
    mine = plan.get_plan(current_user)
    suggestion = plan.crisis_lines_suggestion(resources_for(current_app.config["SUPPORT_REGION"]))
    status = 422 if request.method == "POST" else 200
    if form.validate_on_submit():
        values = {name: getattr(form, name).data for name in plan.FIELDS}
        try:
            with invalid_input(form) as caught:
                plan.save_plan(current_user, seen=form.seen.data or None, **values)
        except Conflict as changed:
            status = _changed_elsewhere(form, changed, plan.version_of(plan.get_plan(current_user)))
        else:
            if caught.error is None:
                flash("Your plan is saved. It will show up next to the support panel if you ever need it.", "success")
                return redirect(url_for("practice.relapse_plan"))
    elif request.method == "GET":
        for name in plan.FIELDS:
            getattr(form, name).data = getattr(mine, name) if mine is not None else ""
        if mine is None:  # a start for a new plan only: lines someone cleared stay cleared, as saved
            form.crisis_lines.data = suggestion
        form.seen.data = plan.version_of(mine)
    return render_template(
        "practice/plan.html", form=form, plan=mine, sections=plan.SECTIONS, prefilled=mine is None
    ), status
