"""``annotate people``: add people who sign in to the UI, invite them, list them, and make
them members of projects (``grant``/``revoke``; annotators see only their projects).

Registered on the main CLI as ``app.add_typer(people_app, name="people")``; the database
comes from the main ``--db`` option (or ``ANNOTATE_DB``).
"""

from __future__ import annotations

from typing import Annotated

import typer

from annotate.cli.common import CommandsGroup, out, store_from

people_app = typer.Typer(cls=CommandsGroup,
                         help="People who sign in to the UI (tokens stored hashed).",
                         no_args_is_help=True)


@people_app.command("add")
def add(ctx: typer.Context,
        name: Annotated[str, typer.Argument(help="The person's name (their annotator id).")],
        owner: Annotated[bool, typer.Option("--owner", help="Owners see dashboards, review "
                                            "and setup.")] = False) -> None:
    """Add a person and print their sign-in token (shown only this once)."""
    from annotate.services.people import add_person

    with store_from(ctx) as store, store.session() as session:
        who, token = add_person(session, name, role="owner" if owner else "annotator")
    out.print(f"added {who.name} ({who.role}); sign-in token (shown once, stored hashed):")
    print(token)


@people_app.command("invite")
def invite(ctx: typer.Context,
           name: Annotated[str, typer.Argument(help="The person's name.")],
           url: Annotated[str, typer.Option("--url", help="The UI's public address.")]
           = "http://localhost:8501",
           owner: Annotated[bool, typer.Option("--owner")] = False,
           hours: Annotated[int, typer.Option("--hours", min=1)] = 72) -> None:
    """Print a one-time invite link (the person is added if new)."""
    from annotate.services.people import create_invite, invite_link

    with store_from(ctx) as store, store.session() as session:
        token = create_invite(session, name, role="owner" if owner else "annotator",
                              hours=hours, created_by="cli")
    print(invite_link(url, token))


@people_app.command("token")
def new_token(ctx: typer.Context, name: Annotated[str, typer.Argument()]) -> None:
    """Replace a person's token (the old one stops working) and print the new one."""
    from annotate.services.people import rotate_token

    with store_from(ctx) as store, store.session() as session:
        token = rotate_token(session, name)
    print(token)


@people_app.command("list")
def list_(ctx: typer.Context) -> None:
    """Everyone who can sign in, with their role."""
    from annotate.services.people import list_people

    with store_from(ctx) as store, store.session() as session:
        for who in list_people(session):
            state = "" if who.active else " (deactivated)"
            out.print(f"{who.name}\t{who.role}{state}")


@people_app.command("grant")
def grant_(ctx: typer.Context, name: Annotated[str, typer.Argument(help="The person.")],
           project: Annotated[str, typer.Argument(help="The project's name.")]) -> None:
    """Make a person a member of a project (they see it and get its tasks)."""
    from annotate.services.people import grant

    with store_from(ctx) as store, store.session() as session:
        added = grant(session, name, project, by="cli")
    out.print(f"{name} is {'now' if added else 'already'} a member of {project}")


@people_app.command("revoke")
def revoke_(ctx: typer.Context, name: Annotated[str, typer.Argument(help="The person.")],
            project: Annotated[str, typer.Argument(help="The project's name.")]) -> None:
    """End a person's membership of a project (owners still see every project)."""
    from annotate.services.people import revoke

    with store_from(ctx) as store, store.session() as session:
        removed = revoke(session, name, project)
    out.print(f"{name} {'is no longer' if removed else 'was not'} a member of {project}")
