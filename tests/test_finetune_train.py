"""Training end to end on CPU with tiny from-scratch models (no downloads): SFT, CPT, DPO, a chained recipe,
assistant-only masking, and the adapter save -> reload -> merge round trip."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")

import pytest
import torch
import yaml
from cli_support import cli_app
from typer.testing import CliRunner

from finetune.cli import register
from finetune.config import PRESET_DIR
from finetune.synthetic import TOOLS, sft_rows, write_demo_dataset

TINY_MODEL = {"tiny": {"arch": "llama", "hidden_size": 48, "layers": 2, "heads": 4, "kv_heads": 2,
                       "intermediate_size": 96, "max_positions": 1024}}


def _finetune(config: dict[str, Any], tmp: Path, data: Path, out: Path) -> dict[str, Any]:
    path = tmp / f"{config['name']}.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    result = CliRunner().invoke(cli_app(register), ["finetune", "--config", str(path), "--data", str(data),
                                         "--output", str(out), "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_demo_dataset(tmp_path_factory.mktemp("data"), sft=40, dpo=16, corpus=20, seed=1)


# ---- assistant-only loss ---------------------------------------------------------------------------------


def test_assistant_only_mask_covers_exactly_the_assistant_turns(tmp_path: Path) -> None:
    from datasets import Dataset
    from trl import SFTConfig, SFTTrainer

    from agent.brains.tiny import CHAT_TEMPLATE
    from finetune.config import TinyModelSpec, TokenizerSpec
    from finetune.modeling import build_tiny_model, train_tokenizer

    rows = sft_rows(4, seed=3)
    tok = train_tokenizer([json.dumps(r["messages"]) for r in rows], TokenizerSpec(vocab_size=400))
    tok.chat_template = CHAT_TEMPLATE
    model = build_tiny_model(TinyModelSpec(hidden_size=32, layers=1, heads=2), tok)
    args = SFTConfig(output_dir=str(tmp_path), assistant_only_loss=True, max_length=None, report_to="none",
                     use_cpu=True, bf16=False, activation_checkpointing=False)
    trainer = SFTTrainer(model=model, args=args, processing_class=tok,
                         train_dataset=Dataset.from_list([{"messages": r["messages"], "tools": r["tools"]}
                                                          for r in rows]))
    for row, example in zip(rows, trainer.train_dataset, strict=True):
        ids, labels = example["input_ids"], example["labels"]
        trained = [i for i, lab in zip(ids, labels, strict=True) if lab != -100]
        assert all(lab in (-100, i) for i, lab in zip(ids, labels, strict=True))
        expected = ""
        for msg in row["messages"]:
            if msg["role"] != "assistant":
                continue
            expected += msg["content"]
            for call in msg.get("tool_calls") or []:
                fn = call["function"]
                expected += f'<tool_call>\n{{"name": "{fn["name"]}", "arguments": {fn["arguments"]}}}\n</tool_call>'
            expected += "<|im_end|>"
        assert tok.decode(trained) == expected  # exactly the assistant turns, their end markers included
        masked = tok.decode([i for i, lab in zip(ids, labels, strict=True) if lab == -100])
        user = next(m["content"] for m in row["messages"] if m["role"] == "user")
        tool = next(m["content"] for m in row["messages"] if m["role"] == "tool")
        assert user in masked and tool in masked and "<tools>" in masked


# ---- tiny-cpu SFT end to end -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sft_run(tmp_path_factory: pytest.TempPathFactory, data_dir: Path) -> tuple[dict[str, Any], Path]:
    tmp = tmp_path_factory.mktemp("sft")
    config = yaml.safe_load((PRESET_DIR / "tiny-cpu.yaml").read_text())  # the preset, shrunk for the test
    config["model"] = TINY_MODEL
    config["tokenizer"]["vocab_size"] = 400
    config["train"].update(max_steps=20, epochs=1, batch_size=4, learning_rate=5e-3, logging_steps=4,
                           max_length=768)
    return _finetune(config, tmp, data_dir, tmp / "run"), tmp / "run"


@pytest.mark.slow
def test_tiny_cpu_sft_end_to_end_loss_goes_down(sft_run: tuple[dict[str, Any], Path]) -> None:
    result, run = sft_run
    [fig] = result["stages"]
    assert fig["method"] == "sft" and fig["device"] == "cpu" and fig["precision"] == "bf16"
    assert fig["gradient_checkpointing"] is False and fig["lora"] is None
    assert fig["eval_loss_after"] < fig["eval_loss_before"] - 1.0
    assert fig["train_loss_last"] < fig["train_loss_first"] - 1.0
    assert fig["tokens_per_s"] > 0 and fig["train_wall_s"] > 0 and fig["peak_memory_mb"] > 0
    for name in ("model/model.safetensors", "model/tokenizer.json", "model/generation_config.json",
                 "tokenizer/tokenizer.json", "base/config.json", "report.json", "loss.png", "README.md",
                 "config.yaml"):
        assert (run / name).is_file(), name
    assert (run / "loss.png").read_bytes()[:4] == b"\x89PNG"
    report = json.loads((run / "report.json").read_text())
    assert report["outputs"]["brain_spec"] == f"hf:{(run / 'model').resolve()}"
    assert len(report["stages"][0]["steps"]) == len(report["stages"][0]["train_loss"]) >= 5
    card = (run / "README.md").read_text()
    assert "## Results" in card and "hf:" in card


@pytest.mark.slow
def test_trained_tiny_model_loads_as_a_brain(sft_run: tuple[dict[str, Any], Path]) -> None:
    from langchain_core.messages import HumanMessage, SystemMessage

    from agent.brains import load_chat_model

    result, run = sft_run
    tok_json = json.loads((run / "model" / "tokenizer.json").read_text())
    assert tok_json["pre_tokenizer"]["type"] == "Sequence"  # digits split one per token, then byte-level
    brain = load_chat_model(result["brain_spec"] + ",max_new_tokens=24").bind_tools(TOOLS)
    reply = brain.invoke([SystemMessage("You are twinops."), HumanMessage("DIAGNOSE: 10.1.2.3 is unreachable.")])
    assert reply.usage_metadata["output_tokens"] > 0


# ---- chained recipe: cpt -> sft -> dpo -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def chain_run(tmp_path_factory: pytest.TempPathFactory, data_dir: Path) -> tuple[dict[str, Any], Path]:
    tmp = tmp_path_factory.mktemp("chain")
    config = {
        "name": "chain",
        "model": TINY_MODEL,
        "tokenizer": {"source": "train_bpe", "vocab_size": 400},
        "lora": {"r": 8, "alpha": 16, "dropout": 0.0},
        "train": {"batch_size": 4, "max_length": 768, "logging_steps": 4, "learning_rate": 3e-3},
        "stages": [
            {"method": "cpt", "data": "corpus", "lora": None,
             "train": {"max_steps": 24, "max_length": 128, "batch_size": 8}},
            {"method": "sft", "data": ".", "train": {"max_steps": 16, "learning_rate": 1e-2}},
            {"method": "dpo", "data": ".", "train": {"max_steps": 6, "learning_rate": 2e-3, "batch_size": 2}},
        ],
        "merge": True,
    }
    return _finetune(config, tmp, data_dir, tmp / "run"), tmp / "run"


@pytest.mark.slow
def test_cpt_lowers_held_out_perplexity(chain_run: tuple[dict[str, Any], Path]) -> None:
    result, run = chain_run
    cpt = result["stages"][0]
    assert cpt["method"] == "cpt" and cpt["lora"] is None
    assert cpt["perplexity_after"] < cpt["perplexity_before"] * 0.5
    assert cpt["eval_rows"] >= 1 and cpt["train_rows"] > cpt["eval_rows"]
    assert any("held-out documents" in note for note in cpt["notes"])
    assert (run / "stages" / "01-cpt" / "model" / "model.safetensors").is_file()
    assert (run / "stages" / "01-cpt" / "report.json").is_file()


@pytest.mark.slow
def test_chain_runs_each_stage_from_the_previous_output(chain_run: tuple[dict[str, Any], Path]) -> None:
    result, run = chain_run
    cpt, sft, dpo = result["stages"]
    assert [s["method"] for s in (cpt, sft, dpo)] == ["cpt", "sft", "dpo"]
    assert sft["base_model"] == str(run / "stages" / "01-cpt" / "model")
    assert dpo["base_model"] == str(run / "stages" / "02-sft" / "merged")
    assert sft["target_modules"] == ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
    assert sft["eval_loss_after"] < sft["eval_loss_before"]
    assert 0 < sft["parameters_trainable"] < sft["parameters_total"]
    assert (run / "stages" / "02-sft" / "merged" / "model.safetensors").is_file()
    assert result["brain_spec"] == (f"hf:{(run / 'stages' / '02-sft' / 'merged').resolve()},"
                                    f"adapter={(run / 'adapter').resolve()}")
    report = json.loads((run / "report.json").read_text())
    assert [s["stage"] for s in report["stages"]] == ["01-cpt", "02-sft", "03-dpo"]


@pytest.mark.slow
def test_dpo_on_pairs_trains_and_writes_outputs(chain_run: tuple[dict[str, Any], Path]) -> None:
    result, run = chain_run
    dpo = result["stages"][-1]
    assert dpo["method"] == "dpo" and dpo["global_steps"] == 6
    assert dpo["eval_loss_before"] == pytest.approx(0.6931, abs=1e-3)  # policy == reference at the start
    assert dpo["train_loss_last"] < dpo["train_loss_first"] - 0.03  # learns to prefer chosen on its pairs
    assert "rewards/margins" in dpo["extra_metrics"]
    for name in ("adapter/adapter_config.json", "adapter/adapter_model.safetensors", "tokenizer/tokenizer.json",
                 "report.json", "loss.png", "README.md", "merged/model.safetensors"):
        assert (run / name).is_file(), name
    assert not (run / "adapter" / "ref").exists()  # the reference is the base with the adapter off, not a copy
    card = (run / "README.md").read_text()
    assert "library_name: peft" in card and "vllm serve" in card and "--enable-lora" in card


@pytest.mark.slow
def test_adapter_reloads_on_its_base_and_merges_to_the_same_outputs(chain_run: tuple[dict[str, Any], Path]) -> None:
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    _, run = chain_run
    base_dir, adapter_dir = run / "stages" / "02-sft" / "merged", run / "adapter"
    tok = AutoTokenizer.from_pretrained(str(adapter_dir))
    ids = tok("DIAGNOSE: 10.0.3.7 is unreachable through R4.", return_tensors="pt")["input_ids"]
    with torch.inference_mode():
        base = AutoModelForCausalLM.from_pretrained(str(base_dir), dtype=torch.float32).eval()
        base_logits = base(input_ids=ids).logits
        with_adapter = PeftModel.from_pretrained(base, str(adapter_dir)).eval()
        adapter_logits = with_adapter(input_ids=ids).logits
        merged = with_adapter.merge_and_unload().eval()
        merged_logits = merged(input_ids=ids).logits
        saved = AutoModelForCausalLM.from_pretrained(str(run / "merged"), dtype=torch.float32).eval()
        saved_logits = saved(input_ids=ids).logits
    assert (adapter_logits - base_logits).abs().max() > 1e-4  # the adapter changes the model...
    torch.testing.assert_close(merged_logits, adapter_logits, atol=1e-4, rtol=1e-4)  # ...merging keeps it
    torch.testing.assert_close(saved_logits, adapter_logits, atol=1e-4, rtol=1e-4)
    assert not any("lora" in name for name, _ in merged.named_modules())


def test_rows_that_truncation_empties_are_a_data_error(tmp_path: Path, data_dir: Path) -> None:
    config = {"name": "short", "method": "sft", "model": TINY_MODEL,
              "tokenizer": {"source": "train_bpe", "vocab_size": 400}, "train": {"max_steps": 2, "max_length": 64}}
    path = tmp_path / "short.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    result = CliRunner().invoke(cli_app(register), ["finetune", "--config", str(path), "--data", str(data_dir),
                                         "--output", str(tmp_path / "run"), "--json"])
    assert result.exit_code == 2, result.output
    assert "max_length 64" in result.stderr and "train.jsonl" in result.stderr
