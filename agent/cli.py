"""The ``twinops`` command line: one typer app, each package contributing its sub-commands."""

from __future__ import annotations

import typer

from policies.cli import audit_app, policy_app
from twin_lab.cli import twin_app

app = typer.Typer(help="twinops: a network-automation agent toolkit with a digital-twin lab.",
                  no_args_is_help=True, pretty_exceptions_enable=False)
app.add_typer(twin_app, name="twin")
app.add_typer(policy_app, name="policy")
app.add_typer(audit_app, name="audit")


@app.command()
def demo() -> None:
    """The main job: a walkthrough of the twin lab on the small preset (agent demo comes later)."""
    from twin_lab.walkthrough import run_walkthrough

    raise typer.Exit(run_walkthrough())


def main() -> None:
    app()


if __name__ == "__main__":
    main()
