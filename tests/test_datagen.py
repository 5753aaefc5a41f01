"""``twinops data generate``: in-process transport equivalence, files, resume, CLI errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from finetune.generate import generate, split_of
from finetune.generate_cli import register_generate
from twin_lab.scenarios import is_heldout_seed

FAMILIES = ["change.ospf_cost", "diag.interface_shutdown", "diag.wrong_ip_address", "refuse.degradation"]


def _app() -> typer.Typer:
    app = typer.Typer()
    register_generate(app)

    @app.command()
    def noop() -> None:  # a second command keeps "generate" a sub-command
        pass

    return app


@pytest.mark.parametrize("args", [["--n", "0"], ["--n", "2", "--workers", "0"], ["--n", "2", "--seed", "1000000000"],
                                  ["--n", "2", "--seed", "-1"], ["--n", "2", "--families", "nope.nothing"]])
def test_bad_args_exit_2(tmp_path: Path, args: list[str]) -> None:
    result = CliRunner().invoke(_app(), ["generate", *args, "--out", str(tmp_path / "d")])
    assert result.exit_code == 2, result.output


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, object, object]:
    out = tmp_path_factory.mktemp("gen") / "data"
    first = generate(6, out, workers=2, seed=7, families=FAMILIES, stop_after=4)  # interrupted
    manifest = (out / ".work" / "manifest.jsonl").read_text().splitlines()
    assert first.shards_run >= 4 and len(manifest) == first.shards_run
    assert not (out / "sft" / "train.jsonl").exists()
    second = generate(6, out, workers=2, seed=7, families=FAMILIES)
    return out, first, second


def _rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def test_resume_continues_without_duplicates(dataset) -> None:
    out, first, second = dataset
    assert second.shards_resumed == first.shards_run
    manifest = [json.loads(line) for line in (out / ".work" / "manifest.jsonl").read_text().splitlines()]
    keys = [(m["family"], m["seed"]) for m in manifest]
    assert len(keys) == len(set(keys)), "a shard ran twice"
    sft = _rows(out / "sft" / "train.jsonl") + _rows(out / "sft" / "validation.jsonl")
    assert len(sft) == second.sft_rows == 6
    assert len({r["task_id"] for r in sft}) == len(sft)
    again = generate(6, out, workers=2, seed=7, families=FAMILIES)  # complete: nothing new runs
    assert again.shards_run == 0 and again.sft_rows == 6


def test_files_load_with_datasets_and_rows_are_sound(dataset) -> None:
    datasets = pytest.importorskip("datasets")
    out, _, report = dataset
    for kind in ("sft", "dpo"):
        for split in ("train", "validation"):
            path = out / kind / f"{split}.jsonl"
            assert path.exists()
            rows = _rows(path)
            if rows:
                loaded = datasets.load_dataset("json", data_files=str(path), split="train")
                assert len(loaded) == len(rows)
            for row in rows:
                assert not is_heldout_seed(row["seed"])
                assert split_of(row["seed"]) == split
                assert row["category"]
    manifest = {(m["family"], m["seed"]): m for m in
                (json.loads(line) for line in (out / ".work" / "manifest.jsonl").read_text().splitlines())}
    sft = _rows(out / "sft" / "train.jsonl") + _rows(out / "sft" / "validation.jsonl")
    for row in sft:  # only runs the twin verified
        assert manifest[(row["family"], row["seed"])]["status"] == "verified"
        assert row["messages"][0]["role"] == "system" and json.loads(row["tools"])
    dpo = _rows(out / "dpo" / "train.jsonl") + _rows(out / "dpo" / "validation.jsonl")
    assert dpo, "no preference pairs"
    for row in dpo:
        assert row["chosen"] != row["rejected"] and row["reason"]
        assert row["rejected"][0]["role"] == "assistant"
    assert {r["category"] for r in sft} and report.per_category
    card = (out / "README.md").read_text()
    assert "Per family" in card and "Not covered" in card
