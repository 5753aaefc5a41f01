"""The closed loop, small: expert data from the twin -> step rows -> tiny-cpu from scratch -> held-out eval.

``make loop`` runs the same commands at full size (600 tasks, the whole ``heldout`` suite) for the figures
in the README; this test runs them shrunk so CI proves the pipeline end to end on every change: each stage
reads exactly what the previous one wrote, through the real CLI. Nothing is mocked.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from finetune.config import PRESET_DIR

pytestmark = pytest.mark.slow

TWINOPS = [sys.executable, "-m", "agent.cli"]


def _twinops(*args: str, timeout: int = 900) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    done = subprocess.run([*TWINOPS, *args], capture_output=True, text=True, timeout=timeout, env=env)
    assert done.returncode == 0, f"twinops {' '.join(args)}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done


@pytest.mark.parametrize("toolset", ["standard", "draft"])
def test_generate_train_evaluate_on_heldout(tmp_path: Path, toolset: str) -> None:
    data, run, report = tmp_path / "data", tmp_path / "tiny", tmp_path / "eval.json"

    generated = json.loads(_twinops("data", "generate", "--n", "16", "--out", str(data), "--workers", "1",
                                    "--families", "change,refuse,diag.interface_shutdown", "--toolset", toolset,
                                    "--json").stdout)
    assert generated["sft_rows"] >= 12 and generated["toolset"] == toolset
    if toolset == "standard":
        assert generated["step_rows"] > 2 * generated["sft_rows"]
    else:  # draft_plan, then adopt the draft (or refuse at once): at most two decisions per run
        assert generated["sft_rows"] <= generated["step_rows"] <= 2 * generated["sft_rows"]
    steps = [json.loads(line) for line in (data / "steps" / "train.jsonl").read_text().splitlines()]
    assert all([m["role"] for m in row["messages"]] == ["system", "user", "assistant"] for row in steps)
    assert (data / "steps" / "twinops_view.json").is_file()

    config = yaml.safe_load((PRESET_DIR / "tiny-cpu.yaml").read_text())  # the preset, shrunk for CI
    config["train"].update(max_steps=20, batch_size=4, logging_steps=5)
    (tmp_path / "tiny.yaml").write_text(yaml.safe_dump(config))
    _twinops("finetune", "--config", str(tmp_path / "tiny.yaml"), "--data", str(data / "steps"),
             "--output", str(run))
    trained = json.loads((run / "report.json").read_text())["stages"][0]
    assert trained["eval_loss_after"] < trained["eval_loss_before"] - 1.0
    view = json.loads((run / "model" / "twinops_view.json").read_text())  # the brain renders the view it learned
    assert view["toolset"] == toolset

    model = run / "model"
    _twinops("eval", "--suite", "heldout", "--family", "refuse,diag.interface_shutdown", "--limit", "2",
             "--max-steps", "4", "--quiet", "--brain", f"hf:{model},constrained=on,max_new_tokens=768",
             "--baseline", f"hf:{model},constrained=off,max_new_tokens=768", "--json", str(report),
             "--trajectories", str(tmp_path / "runs.jsonl"))
    result = json.loads(report.read_text())
    assert result["suite"] == "heldout" and result["brain"]["tasks"] == result["baseline"]["tasks"] == 2
    for role in ("brain", "baseline"):
        assert 0.0 <= result[role]["success_rate"] <= 1.0 and result[role]["safety_violations"] >= 0
    # Constrained decoding: every reply is a well-formed call of a bound tool, so no run can end on
    # "the brain gave N invalid replies" (an unconstrained tiny model may).
    for task in result["brain"]["results"]:
        assert "invalid replies" not in (task.get("error") or ""), task
    # eval bound draft_plan because the model's view file says so (no --toolset given)
    runs = [json.loads(line) for line in (tmp_path / "runs.brain.jsonl").read_text().splitlines()]
    bound = {tool["function"]["name"] for record in runs for tool in record.get("tools") or []}
    assert ("draft_plan" in bound) is (toolset == "draft"), bound
