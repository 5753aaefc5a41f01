"""``twinops finetune`` configuration: presets, validation errors (one line, file + field), overrides, CLI codes."""

from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")

import pytest
import typer
import yaml
from typer.testing import CliRunner

from finetune.cli import register
from finetune.config import PRESET_DIR, ConfigError, list_presets, load_config

TINY = {"name": "t", "method": "sft", "model": {"tiny": {"hidden_size": 32, "layers": 1, "heads": 2}},
        "tokenizer": {"source": "train_bpe", "vocab_size": 400}}


def _write(tmp_path: Path, data: object, name: str = "c.yaml") -> Path:
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else yaml.safe_dump(data), encoding="utf-8")
    return path


def _error(tmp_path: Path, data: object, **overrides: str) -> str:
    path = _write(tmp_path, data)
    with pytest.raises(ConfigError) as info:
        load_config(path, **overrides)
    message = str(info.value)
    assert "\n" not in message
    assert str(path) in message
    return message


def _app() -> typer.Typer:
    app = typer.Typer()

    @app.callback()
    def _root() -> None:  # a group, as the real twinops app is
        pass

    register(app)
    return app


# ---- presets ----------------------------------------------------------------------------------------


def test_presets_ship_and_load() -> None:
    assert {"tiny-cpu", "tiny-chain", "qlora-phi4mini"} <= set(list_presets())
    tiny = load_config("tiny-cpu", data="d", output="o")
    assert tiny.model.tiny is not None and tiny.tokenizer.source == "train_bpe" and tiny.lora is None
    assert tiny.data == "d" and tiny.output == "o"
    [stage] = tiny.resolved_stages()
    assert stage.method == "sft" and stage.sft.assistant_only_loss
    assert stage.train.gradient_checkpointing is False and stage.train.precision == "auto"
    chain = load_config("tiny-chain")
    assert [s.method for s in chain.resolved_stages()] == ["cpt", "sft", "dpo"]
    assert [s.lora is None for s in chain.resolved_stages()] == [True, True, False]


def test_qlora_phi4mini_needs_a_model_path_and_is_the_tslam_recipe() -> None:
    with pytest.raises(ConfigError, match="--model"):
        load_config("qlora-phi4mini")
    cfg = load_config("qlora-phi4mini", model="/models/phi-4-mini")
    [stage] = cfg.resolved_stages()
    assert cfg.model.path == "/models/phi-4-mini"
    assert stage.quantization == "4bit" and stage.lora is not None
    assert (stage.lora.r, stage.lora.alpha, stage.lora.target_modules) == (16, 32, "auto")
    assert stage.train.gradient_checkpointing is True


def test_accelerate_fsdp_config_is_valid_for_accelerate() -> None:
    from accelerate.commands.config.config_args import load_config_from_file

    cfg = load_config_from_file(str(PRESET_DIR / "accelerate_fsdp.yaml"))
    assert str(cfg.distributed_type).endswith("FSDP") and cfg.mixed_precision == "bf16"
    assert cfg.fsdp_config["fsdp_auto_wrap_policy"] == "TRANSFORMER_BASED_WRAP"


def test_model_override_switches_a_tiny_preset_to_the_models_tokenizer() -> None:
    cfg = load_config("tiny-cpu", model="/some/model")
    assert cfg.model.path == "/some/model" and cfg.tokenizer.source == "model"


# ---- validation errors ------------------------------------------------------------------------------


def test_wrong_type_names_file_and_field(tmp_path: Path) -> None:
    message = _error(tmp_path, {**TINY, "train": {"learning_rate": "fast"}})
    assert "train.learning_rate" in message


def test_unknown_field_is_refused(tmp_path: Path) -> None:
    message = _error(tmp_path, {**TINY, "train": {"lerning_rate": 1e-3}})
    assert "train.lerning_rate" in message and "unknown field" in message


def test_method_xor_stages(tmp_path: Path) -> None:
    assert "exactly one of 'method'" in _error(tmp_path, {**TINY, "stages": [{"method": "sft"}]})
    no_method = {k: v for k, v in TINY.items() if k != "method"}
    assert "exactly one of 'method'" in _error(tmp_path, no_method)
    assert "method" in _error(tmp_path, {**TINY, "method": "ppo"})


def test_train_bpe_needs_a_tiny_model(tmp_path: Path) -> None:
    message = _error(tmp_path, {**TINY, "model": "/models/x"})
    assert "train_bpe" in message


def test_model_needs_exactly_one_of_path_or_tiny(tmp_path: Path) -> None:
    message = _error(tmp_path, {**TINY, "model": {"path": "/m", "tiny": {}}})
    assert "exactly one of model.path" in message


def test_tiny_heads_must_divide_hidden(tmp_path: Path) -> None:
    message = _error(tmp_path, {**TINY, "model": {"tiny": {"hidden_size": 30, "heads": 4}}})
    assert "model.tiny" in message and "divisible" in message


def test_stage_errors_name_the_stage(tmp_path: Path) -> None:
    data = {**{k: v for k, v in TINY.items() if k != "method"},
            "stages": [{"method": "cpt"}, {"method": "sft", "train": {"learning_rate": -1}}]}
    message = _error(tmp_path, data)
    assert "stages.1.train.learning_rate" in message


def test_stages_inherit_and_override(tmp_path: Path) -> None:
    data = {**{k: v for k, v in TINY.items() if k != "method"},
            "lora": {"r": 4, "alpha": 8},
            "train": {"learning_rate": 1e-3, "batch_size": 2},
            "stages": [{"method": "cpt", "lora": None, "train": {"max_length": 64}},
                       {"method": "sft", "lora": {"r": 2}},
                       {"method": "dpo", "dpo": {"beta": 0.3}}]}
    cfg = load_config(_write(tmp_path, data))
    cpt, sft, dpo = cfg.resolved_stages()
    assert cpt.lora is None and cpt.train.max_length == 64 and cpt.train.batch_size == 2
    assert sft.lora is not None and (sft.lora.r, sft.lora.alpha) == (2, 8) and sft.train.max_length == 1024
    assert dpo.lora is not None and dpo.lora.r == 4 and dpo.dpo.beta == 0.3
    assert [s.name for s in (cpt, sft, dpo)] == ["01-cpt", "02-sft", "03-dpo"]


def test_4bit_needs_lora(tmp_path: Path) -> None:
    assert "lora" in _error(tmp_path, {**TINY, "quantization": "4bit"})


def test_bad_yaml_says_where(tmp_path: Path) -> None:
    message = _error(tmp_path, "method: sft\nmodel: [unclosed\n")
    assert "invalid YAML" in message and "line" in message


def test_not_a_mapping_and_missing_files(tmp_path: Path) -> None:
    assert "mapping" in _error(tmp_path, "- just\n- a list\n")
    with pytest.raises(ConfigError, match="no such config file or preset"):
        load_config(tmp_path / "nope.yaml")
    with pytest.raises(ConfigError, match="tiny-cpu"):  # lists the presets
        load_config("no-such-preset")


# ---- CLI exit codes ---------------------------------------------------------------------------------


def test_cli_bad_yaml_exits_2_with_one_line(tmp_path: Path) -> None:
    path = _write(tmp_path, "method: sft\n  model: : :\n")
    result = CliRunner().invoke(_app(), ["finetune", "--config", str(path)])
    assert result.exit_code == 2, result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and str(path) in lines[0] and "Traceback" not in result.output


def test_cli_bad_field_exits_2(tmp_path: Path) -> None:
    path = _write(tmp_path, {**TINY, "lora": {"r": 0}})
    result = CliRunner().invoke(_app(), ["finetune", "--config", str(path), "--data", str(tmp_path)])
    assert result.exit_code == 2
    assert "lora.r" in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_cli_missing_data_exits_2(tmp_path: Path) -> None:
    path = _write(tmp_path, TINY)
    result = CliRunner().invoke(_app(), ["finetune", "--config", str(path), "--data", str(tmp_path / "none"),
                                         "--output", str(tmp_path / "run")])
    assert result.exit_code == 2
    assert "none" in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_4bit_on_cpu_is_a_clear_error(tmp_path: Path) -> None:
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    path = _write(tmp_path, {**TINY, "quantization": "4bit", "lora": {"r": 4}})
    (tmp_path / "data").mkdir()
    result = CliRunner().invoke(_app(), ["finetune", "--config", str(path), "--data", str(tmp_path / "data"),
                                         "--output", str(tmp_path / "run")])
    assert result.exit_code == 2
    message = result.stderr.strip()
    assert len(message.splitlines()) == 1
    assert "4bit" in message and "CUDA" in message and "quantization: none" in message
    assert not (tmp_path / "run" / "base").exists()  # refused before any work
