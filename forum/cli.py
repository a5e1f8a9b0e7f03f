"""flask --app wsgi ... commands: seed, users create, and the maintenance jobs."""

from __future__ import annotations

import sys

import click
from flask import Flask
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


@click.command("seed")
def seed() -> None:
    """Create the boards (safe to run again)."""
    from forum.seeding import seed_boards

    click.echo(f"Boards created: {seed_boards()}")


def register_commands(app: Flask) -> None:
    app.cli.add_command(users_cli)
    app.cli.add_command(seed)
