"""The ``twinops`` command line: one typer app, each package contributing its sub-commands."""

from __future__ import annotations

from typing import Annotated

import typer

from agent.bench_cli import register_bench
from agent.commands import register as register_agent_commands
from agent.eval_cli import register_eval
from finetune.cli import data_app
from finetune.cli import register as register_finetune
from finetune.corpus_cli import register_corpus
from finetune.generate_cli import register_generate
from finetune.knowledge.cli import register_knowledge
from policies.cli import audit_app, policy_app
from twin_lab.cli import twin_app
from twin_lab.lab_cli import lab_app

app = typer.Typer(help="twinops: a network-automation agent toolkit with a digital-twin lab.",
                  no_args_is_help=True, pretty_exceptions_enable=False)
app.add_typer(twin_app, name="twin")
app.add_typer(policy_app, name="policy")
app.add_typer(audit_app, name="audit")
app.add_typer(lab_app, name="lab")
register_agent_commands(app)
register_knowledge(app)
register_finetune(app)
register_corpus(data_app)
register_generate(data_app)
register_bench(app)
register_eval(app)


@app.command()
def demo(brain: Annotated[str, typer.Option("--brain", help="Brain spec (default: expert).")] = "expert",
         fault: Annotated[str, typer.Option("--fault", help="Fault kind to inject.")] = "ospf_mtu_mismatch",
         seed: Annotated[int, typer.Option("--seed", help="Picks the fault's target.")] = 0,
         walkthrough: Annotated[bool, typer.Option("--walkthrough", help="Only the simulator tour.")] = False) -> None:
    """The main job: a lab over SSH, a fault, the agent diagnoses, dry-runs, applies and verifies the fix."""
    if walkthrough:
        from twin_lab.walkthrough import run_walkthrough

        raise typer.Exit(run_walkthrough())
    from twin_lab.faults import list_kinds

    if fault not in list_kinds():
        raise typer.BadParameter(f"unknown fault kind {fault!r}; known: {', '.join(list_kinds())}", param_hint="--fault")
    from agent.demo import run_demo

    raise typer.Exit(run_demo(brain=brain, fault=fault, seed=seed))


def main() -> None:
    app()


if __name__ == "__main__":
    main()
