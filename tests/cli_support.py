"""Shared test support for CLI tests: a root Typer app with one module's commands registered."""

from __future__ import annotations

from collections.abc import Callable

import typer


def cli_app(register: Callable[[typer.Typer], None]) -> typer.Typer:
    app = typer.Typer()

    @app.callback()
    def _root() -> None:
        """test root"""

    register(app)
    return app
