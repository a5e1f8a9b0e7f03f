"""flask --app wsgi ... commands: seed, users create, backup, restore, and the maintenance jobs."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from forum.models import ROLES

users_cli = AppGroup("users", help="Manage accounts.")


@users_cli.command("create")
@click.argument("username")
@click.option("--role", type=click.Choice(ROLES), default="member", show_default=True)
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@click.option("--email", default=None)
def create_user(username: str, role: str, password_stdin: bool, email: str | None) -> None:
    """Create an account (the password is never taken as an argument, so it stays out of shell history)."""
    from forum.services import accounts
    from forum.services.errors import ServiceError

    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        user = accounts.register(username, password, email=email, role=role)
    except ServiceError as error:
        raise click.ClickException(f"{error.message} {error.fields or ''}".strip()) from error
    click.echo(f"Created {user.role} {user.username} (id {user.id}).")


@users_cli.command("trust")
@click.argument("username")
@click.option("--remove", is_flag=True, help="Take the trust away again.")
def trust_user(username: str, remove: bool) -> None:
    """Let a member host live check-ins (moderators and admins always may), or stop them."""
    from forum.services import accounts

    user = accounts.find_user(username)
    if user is None:
        raise click.ClickException(f"No account is called {username}.")
    accounts.set_trusted(user, not remove)
    click.echo(f"{user.username} {'may no longer' if remove else 'may now'} host check-ins.")


@click.command("seed")
def seed() -> None:
    """Create the boards (safe to run again)."""
    from forum.seeding import seed_boards

    click.echo(f"Boards created: {seed_boards()}")


@click.command("backup")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--yes", is_flag=True, help="Replace PATH if it exists.")
def backup_command(path: Path, yes: bool) -> None:
    """Write a consistent backup of the database to PATH (safe while the servers run)."""
    from forum import backup

    try:
        report = backup.backup(current_app.config["SQLALCHEMY_DATABASE_URI"], path, overwrite=yes)
    except backup.BackupError as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"Backed up {report.total_rows} rows in {len(report.rows)} tables ({report.backend}) to {report.path}.")


@click.command("restore")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--yes", is_flag=True, help="Replace the data the database holds now.")
def restore_command(path: Path, yes: bool) -> None:
    """Replace the database's content with the backup at PATH, checked before and after (stop the servers first)."""
    from forum import backup

    try:
        report = backup.restore(current_app.config["SQLALCHEMY_DATABASE_URI"], path, overwrite=yes)
    except backup.BackupError as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"Restored and checked {report.total_rows} rows in {len(report.rows)} tables from {path}.")


moderation_cli = AppGroup("moderation", help="Moderation maintenance: feedback for retraining.")


@moderation_cli.command("export-feedback")
@click.argument("path", type=click.Path(dir_okay=False, writable=True))
def export_feedback(path: str) -> None:
    """Write moderator decisions as text,label rows (labels none/concern/crisis) for retraining the model."""
    import csv

    from forum.services.dashboard import feedback_rows, label_counts

    rows = list(feedback_rows())
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text", "label"])
        writer.writerows(rows)
    counts = ", ".join(f"{label}: {count}" for label, count in sorted(label_counts(rows).items())) or "none"
    click.echo(f"Wrote {len(rows)} rows to {path} ({counts}).")


chat_cli = AppGroup("chat", help="Live chat maintenance.")


@chat_cli.command("purge")
@click.option("--days", type=int, default=None, help="Keep transcripts this many days (default: CHAT_TRANSCRIPT_DAYS).")
def purge_chat(days: int | None) -> None:
    """Delete the transcripts of check-ins that closed longer ago than the retention period."""
    from forum.services.checkins import purge_transcripts

    click.echo(f"Check-in transcripts deleted: {purge_transcripts(days=days)}")


def register_commands(app: Flask) -> None:
    app.cli.add_command(users_cli)
    app.cli.add_command(moderation_cli)
    app.cli.add_command(seed)
    app.cli.add_command(backup_command)
    app.cli.add_command(restore_command)
    app.cli.add_command(chat_cli)
