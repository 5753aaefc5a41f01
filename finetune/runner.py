"""Run a fine-tuning config: build or load the base, run each stage's trainer, write the run directory.

Run directory (``output``)::

    base/          the starting model: the tiny model built from scratch, or (for a local model) symlinks
                   to its weights plus this run's tokenizer and chat template
    adapter/       the final PEFT adapter (LoRA runs)       | model/  the final weights (full fine-tuning)
    tokenizer/     the tokenizer with the chat template it was trained with
    merged/        adapter folded into its base (``merge: true``)
    stages/NN-x/   earlier stages of a chained recipe: their adapter/model, merged/, report, card
    report.json    figures of every stage (losses, perplexity, tokens/s, wall time, peak memory) + outputs
    loss.png       loss curves;  README.md  the model card;  config.yaml  the resolved config

Chained recipes (``cpt -> sft -> dpo``): each LoRA stage's adapter is merged into its base and the next
stage trains a fresh adapter on the merged weights. Merging (rather than stacking adapters on the original
base) is what makes each stage *start from the previous stage's output*: DPO's reference model (the policy
with its adapter switched off) is then the SFT model, as DPO assumes, not the raw base; and the final
artefact is one adapter on one base, which vLLM and the hf brain load directly.
"""

from __future__ import annotations

import gc
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, Field

from agent.brains.compact import VIEW_FILE
from finetune.common import (
    Hardware,
    MethodResult,
    StageContext,
    TrainingError,
    choose_hardware,
)
from finetune.config import ConfigError, FinetuneConfig, Stage
from finetune.dataset import DataError, split_files
from finetune.report import StageFigures, model_card, peak_memory, plot_loss, versions, write_figures


class RunResult(BaseModel):
    name: str
    output: str
    config_source: str
    brain_spec: str
    base: str
    adapter: str | None = None
    model: str | None = None
    merged: str | None = None
    tokenizer: str
    report: str
    loss_plot: str
    card: str
    wall_s: float
    stages: list[StageFigures] = Field(default_factory=list)


def _trainer_for(method: str) -> Callable[[StageContext], MethodResult]:
    if method == "sft":
        from finetune.sft import train_sft

        return train_sft
    if method == "dpo":
        from finetune.dpo import train_dpo

        return train_dpo
    from finetune.cpt import train_cpt

    return train_cpt


def stage_data_dir(config: FinetuneConfig, stage: Stage) -> Path:
    """A stage's data path: absolute as given, else relative to the top-level ``data`` folder."""
    path = Path(stage.data).expanduser()
    if path.is_absolute():
        return path
    if config.data is None:
        if stage.data in (".", ""):
            raise ConfigError(f"{config.source}: data: no dataset folder; set data: in the config or pass --data DIR")
        return path
    return Path(config.data).expanduser() / path


def check_data(config: FinetuneConfig, stages: list[Stage]) -> dict[int, Path]:
    """Fail fast (DataError/ConfigError) on missing data, before any model is built."""
    dirs: dict[int, Path] = {}
    for stage in stages:
        data = stage_data_dir(config, stage)
        if stage.method == "cpt":
            from finetune.cpt import corpus_dir

            if not corpus_dir(data).is_dir():
                raise DataError(f"{data}: no corpus folder for the cpt stage {stage.name}")
        else:
            split_files(data, stage.method)
        dirs[stage.index] = data
    return dirs


def _texts_for_tokenizer(stages: list[Stage], dirs: dict[int, Path], template_tok: Any) -> list[str]:
    texts: list[str] = []
    for stage in stages:
        if stage.method == "sft":
            from finetune.sft import load_sft_rows, render_texts

            train, _val, _ = load_sft_rows(dirs[stage.index])
            texts += render_texts(train, template_tok)
        elif stage.method == "dpo":
            from finetune.dpo import load_dpo_rows
            from finetune.dpo import render_texts as render_dpo

            train, _val, _ = load_dpo_rows(dirs[stage.index])
            texts += render_dpo(train, template_tok)
        else:
            from finetune.cpt import load_corpus

            train_texts, _held, _ = load_corpus(dirs[stage.index], stage)
            texts += train_texts  # held-out documents stay unseen, even by the tokenizer
    return texts


def _free() -> None:
    """Return memory (GPU memory above all) between stages; callers drop their references first."""
    gc.collect()
    try:
        import torch

        if torch.cuda.is_available():
            torch.cuda.empty_cache()
    except ImportError:  # pragma: no cover
        pass


def merge_adapter(base_dir: str | Path, adapter_dir: str | Path, out_dir: str | Path, *,
                  trust_remote_code: bool = False, end_of_turn: str | None = None) -> Path:
    """Fold a LoRA adapter into an unquantised copy of its base and save model + tokenizer to ``out_dir``."""
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    from finetune.modeling import load_tokenizer, write_generation_config

    dtype = torch.bfloat16 if torch.cuda.is_available() else torch.float32
    base = AutoModelForCausalLM.from_pretrained(str(base_dir), dtype=dtype, trust_remote_code=trust_remote_code,
                                                local_files_only=True)
    merged = PeftModel.from_pretrained(base, str(adapter_dir)).merge_and_unload()
    out = Path(out_dir)
    merged.save_pretrained(out)
    if (Path(adapter_dir) / VIEW_FILE).is_file():
        shutil.copy2(Path(adapter_dir) / VIEW_FILE, Path(out) / VIEW_FILE)
    tokenizer = load_tokenizer(adapter_dir if (Path(adapter_dir) / "tokenizer_config.json").is_file() else base_dir)
    tokenizer.save_pretrained(out)
    write_generation_config(Path(base_dir), out, tokenizer, end_of_turn)
    del merged, base
    _free()
    return out


def _prepare_base(config: FinetuneConfig, stages: list[Stage], dirs: dict[int, Path], out: Path,
                  state: Any, log: Callable[[str], None]) -> tuple[Path | str, str, str | None]:
    """(base model dir, chat template label, end-of-turn token): built/linked under ``out/base``."""
    from finetune.modeling import build_tiny_model, load_tokenizer, train_tokenizer, write_base_view
    from finetune.templates import resolve_chat_template

    need_generation = any(s.method == "sft" and s.sft.assistant_only_loss for s in stages)
    base = out / "base"
    if config.model.tiny is not None:
        from agent.brains.tiny import build_tokenizer

        bootstrap = build_tokenizer()  # ChatML special tokens: renders the data for BPE training
        template, label, end = resolve_chat_template(config.chat_template, bootstrap,
                                                     need_generation=need_generation, source=config.source)
        with state.main_process_first():
            if state.is_main_process:
                if config.tokenizer.source == "train_bpe":
                    bootstrap.chat_template = template
                    texts = _texts_for_tokenizer(stages, dirs, bootstrap)
                    tokenizer = train_tokenizer(texts, config.tokenizer)
                    log(f"trained a byte-level BPE tokenizer ({len(tokenizer)} tokens) on {len(texts)} texts")
                else:
                    tokenizer = bootstrap
                tokenizer.chat_template = template
                model = build_tiny_model(config.model.tiny, tokenizer)
                model.save_pretrained(base)
                tokenizer.save_pretrained(base)
                n = sum(p.numel() for p in model.parameters())
                log(f"built a tiny {config.model.tiny.arch} model from scratch ({n / 1e6:.2f}M parameters)")
                del model
                _free()
        return base, label, end
    path = Path(config.model.path or "").expanduser()
    source_ref = str(path) if path.exists() else str(config.model.path)
    tokenizer = load_tokenizer(source_ref, trust_remote_code=config.model.trust_remote_code, source=config.source)
    template, label, end = resolve_chat_template(config.chat_template, tokenizer, need_generation=need_generation,
                                                 source=config.source)
    tokenizer.chat_template = template
    if not path.is_dir():  # a hub id resolved from the local cache: no view, train from it directly
        return source_ref, label, end
    if state.is_main_process:
        write_base_view(path.resolve(), tokenizer, base, end_of_turn=end)
    state.wait_for_everyone()
    return base, label, end


def run_finetune(config: FinetuneConfig, *, quiet: bool = False,
                 log: Callable[[str], None] | None = None) -> RunResult:
    """Run every stage of ``config``. ConfigError / DataError for bad input; TrainingError if training fails."""
    from accelerate import PartialState

    started = time.perf_counter()
    say = log or (lambda _msg: None)
    stages = config.resolved_stages()
    if any(s.quantization == "4bit" for s in stages):
        from finetune.modeling import nf4_config

        nf4_config(config.source)  # no CUDA / no bitsandbytes: one clear error before any work
    dirs = check_data(config, stages)
    out = Path(config.output or f"runs/{config.name}").expanduser()
    out.mkdir(parents=True, exist_ok=True)
    state = PartialState()
    current, template_label, end_of_turn = _prepare_base(config, stages, dirs, out, state, say)
    base_dir = current
    figures: list[StageFigures] = []
    adapter_out: Path | None = None
    model_out: Path | None = None
    final_base: Path | str = current
    for stage in stages:
        last = stage.index == len(stages) - 1
        stage_dir = out if last else out / "stages" / stage.name
        stage_dir.mkdir(parents=True, exist_ok=True)
        say(f"stage {stage.name}: {stage.method} from {current}")
        fig, produced = _run_stage(config, stage, current, dirs[stage.index], stage_dir, quiet=quiet,
                                   template_label=template_label, end_of_turn=end_of_turn, state=state)
        figures.append(fig)
        if not last:
            if state.is_main_process:
                write_figures(fig, stage_dir / "report.json")
                plot_loss(fig, stage_dir / "loss.png")
            if stage.lora is not None:
                merged_dir = stage_dir / "merged"
                if state.is_main_process:
                    merge_adapter(current, produced, merged_dir, trust_remote_code=config.model.trust_remote_code,
                                  end_of_turn=end_of_turn)
                state.wait_for_everyone()
                current = merged_dir
            else:
                current = produced
        else:
            final_base = current
            if stage.lora is not None:
                adapter_out = produced
            else:
                model_out = produced
    merged_out: Path | None = None
    if config.merge and adapter_out is not None and state.is_main_process:
        merged_out = merge_adapter(final_base, adapter_out, out / "merged",
                                   trust_remote_code=config.model.trust_remote_code, end_of_turn=end_of_turn)
    if adapter_out is not None:
        quant = ",4bit" if stages[-1].quantization == "4bit" else ""
        brain = f"hf:{Path(final_base).resolve() if Path(final_base).exists() else final_base}," \
                f"adapter={adapter_out.resolve()}{quant}"
    else:
        brain = f"hf:{model_out.resolve()}"  # type: ignore[union-attr]
    result = RunResult(
        name=config.name, output=str(out), config_source=config.source, brain_spec=brain,
        base=str(base_dir), adapter=str(adapter_out) if adapter_out else None,
        model=str(model_out) if model_out else None, merged=str(merged_out) if merged_out else None,
        tokenizer=str(out / "tokenizer"), report=str(out / "report.json"), loss_plot=str(out / "loss.png"),
        card=str(out / "README.md"), wall_s=round(time.perf_counter() - started, 2), stages=figures)
    if state.is_main_process:
        figures[-1].brain_spec = brain
        outputs = result.model_dump(mode="json", exclude={"stages"})
        write_figures(figures, out / "report.json", name=config.name, outputs=outputs, wall_s=result.wall_s)
        plot_loss(figures, out / "loss.png")
        (out / "README.md").write_text(model_card(
            figures, name=config.name, config_source=config.source, description=config.description,
            brain_spec=brain, adapter_dir=str(adapter_out.resolve()) if adapter_out else None,
            base_dir=str(Path(final_base).resolve()) if Path(final_base).exists() else str(final_base),
            merged_dir=str(merged_out) if merged_out else None), encoding="utf-8")
        dump = config.model_dump(mode="json", exclude_none=True)
        (out / "config.yaml").write_text(yaml.safe_dump(dump, sort_keys=False), encoding="utf-8")
    return result


def _run_stage(config: FinetuneConfig, stage: Stage, base: Path | str, data_dir: Path, stage_dir: Path, *,
               quiet: bool, template_label: str, end_of_turn: str | None, state: Any) -> tuple[StageFigures, Path]:
    """Load ``base``, wrap it with LoRA if asked, train, save. (figures, adapter or model dir)."""
    import torch

    from finetune.modeling import (
        count_parameters,
        load_model,
        load_tokenizer,
        lora_config,
        write_generation_config,
    )

    started = time.perf_counter()
    if stage.train.torch_threads:
        torch.set_num_threads(stage.train.torch_threads)
    tokenizer = load_tokenizer(base, trust_remote_code=config.model.trust_remote_code, source=config.source)
    peft = stage.lora is not None
    hardware = choose_hardware(stage, peft=peft)
    dtype = torch.bfloat16 if (hardware.device == "cuda" and peft and hardware.precision == "bf16") else torch.float32
    model = load_model(base, quantization=stage.quantization, dtype=dtype,
                       trust_remote_code=config.model.trust_remote_code, source=config.source)
    _, total = count_parameters(model)
    if stage.train.gradient_checkpointing == "auto":
        hardware = choose_hardware(stage, peft=peft, n_params=total)
    targets: list[str] | None = None
    how: str | None = None
    peft_cfg = None
    if peft:  # TRL wraps the model itself (and keeps DPO's reference = adapter disabled, no copy)
        peft_cfg, targets, how = lora_config(stage.lora, model, source=config.source)  # type: ignore[arg-type]
    ctx = StageContext(config=config, stage=stage, model=model, tokenizer=tokenizer, data_dir=data_dir,
                       out_dir=stage_dir, hardware=hardware, peft_config=peft_cfg, quiet=quiet,
                       is_main=state.is_main_process)
    try:
        result = _trainer_for(stage.method)(ctx)
    except (ConfigError, DataError):
        raise
    except Exception as exc:
        raise TrainingError(f"stage {stage.name} ({stage.method}) failed: {type(exc).__name__}: "
                            f"{str(exc).splitlines()[0] if str(exc) else ''}") from exc
    trainer = result.trainer
    trainable, total = count_parameters(trainer.model)
    if getattr(trainer, "is_fsdp_enabled", False):
        trainer.accelerator.state.fsdp_plugin.set_state_dict_type("FULL_STATE_DICT")
    produced = stage_dir / ("adapter" if peft else "model")
    trainer.save_model(str(produced))
    if state.is_main_process:
        tokenizer.save_pretrained(produced)
        tokenizer.save_pretrained(stage_dir / "tokenizer")
        if not peft:
            base_path = Path(base)
            write_generation_config(base_path if base_path.is_dir() else None, produced, tokenizer, end_of_turn)
        shutil.rmtree(stage_dir / "checkpoints", ignore_errors=True)
        if (data_dir / VIEW_FILE).is_file():  # trained on the compact view: the hf brain must render it too
            shutil.copy2(data_dir / VIEW_FILE, produced / VIEW_FILE)
        (produced / "training_args.bin").unlink(missing_ok=True)
    fig = _figures(config, stage, base, produced, hardware, result, targets, how, trainable, total,
                   template_label, ctx.notes, started)
    ctx.model = None
    result.trainer = None
    del trainer, model
    _free()
    return fig, produced


def _figures(config: FinetuneConfig, stage: Stage, base: Path | str, produced: Path, hardware: Hardware,
             result: MethodResult, targets: list[str] | None, how: str | None, trainable: int, total: int,
             template_label: str, notes: list[str], started: float) -> StageFigures:
    trainer = result.trainer
    rec = trainer.recorder
    state = trainer.state
    tokens = int(getattr(state, "num_input_tokens_seen", 0) or 0)
    if not tokens and result.tokens_estimate:
        tokens = int(result.tokens_estimate * max(state.epoch or 1.0, 1e-9))
    peak, kind = peak_memory()
    lora = stage.lora.model_dump(mode="json") if stage.lora is not None else None
    return StageFigures(
        stage=stage.name, method=stage.method, model=str(produced), base_model=str(base), output=str(produced),
        device=hardware.device, precision=hardware.precision, gradient_checkpointing=hardware.gradient_checkpointing,
        quantization=stage.quantization, lora=lora, target_modules=targets, target_modules_how=how,
        chat_template=template_label, parameters_total=total, parameters_trainable=trainable,
        train_rows=result.train_rows, eval_rows=result.eval_rows, steps=rec.steps, train_loss=rec.loss,
        eval_steps=rec.eval_steps, eval_loss=rec.eval_loss, eval_loss_before=result.eval_loss_before,
        eval_loss_after=result.eval_loss_after, perplexity_before=result.perplexity_before,
        perplexity_after=result.perplexity_after, train_loss_first=rec.loss[0] if rec.loss else None,
        train_loss_last=rec.loss[-1] if rec.loss else None, extra_metrics=result.extra_metrics,
        global_steps=int(state.global_step), epochs=float(state.epoch or 0.0), tokens_seen=tokens,
        tokens_per_s=round(tokens / rec.wall_s, 1) if rec.wall_s > 0 and tokens else None,
        train_wall_s=round(rec.wall_s, 2), stage_wall_s=round(time.perf_counter() - started, 2),
        peak_memory_mb=round(peak, 1) if peak is not None else None, peak_memory_kind=kind, versions=versions(),
        notes=list(notes))
