"""What every method trainer shares: the stage context, hardware/precision choices, TRL/HF arguments.

TRL 1.16 defaults ``bf16=True`` and activation (gradient) checkpointing on, even on CPU, and transformers 5
renamed ``gradient_checkpointing`` to ``activation_checkpointing``: every such knob is set here on purpose
from the config instead of inherited.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from finetune.config import FinetuneConfig, Stage


class TrainingError(RuntimeError):
    """Training itself failed (exit 1), as opposed to a bad config or dataset (exit 2)."""


@dataclass
class Hardware:
    device: str  # "cuda" | "cpu"
    precision: str  # "bf16" | "fp16" | "fp32"
    gradient_checkpointing: bool


@dataclass
class StageContext:
    """Everything one method trainer needs; the runner builds it and reads the results back."""

    config: FinetuneConfig
    stage: Stage
    model: Any
    tokenizer: Any
    data_dir: Path
    out_dir: Path
    hardware: Hardware
    peft_config: Any = None  # a peft LoraConfig: the trainer wraps the model
    quiet: bool = False
    is_main: bool = True
    notes: list[str] = field(default_factory=list)


@dataclass
class MethodResult:
    """What a method trainer hands back (figures are filled in by the runner from these)."""

    trainer: Any
    train_rows: int
    eval_rows: int
    eval_loss_before: float | None = None
    eval_loss_after: float | None = None
    perplexity_before: float | None = None
    perplexity_after: float | None = None
    extra_metrics: dict[str, float] = field(default_factory=dict)
    tokens_estimate: int = 0


def choose_hardware(stage: Stage, *, peft: bool, n_params: int | None = None) -> Hardware:
    import torch

    cuda = torch.cuda.is_available()
    train = stage.train
    if train.precision == "auto":
        # CPU: bf16 autocast, 1.6-4x faster than fp32 for these small models on this machine.
        precision = ("bf16" if torch.cuda.is_bf16_supported() else "fp16") if cuda else "bf16"
    else:
        precision = train.precision
    if precision == "fp16" and not cuda:
        precision = "bf16"  # fp16 mixed precision needs a GPU grad scaler; CPU autocast does bf16
    if train.gradient_checkpointing == "auto":
        big = n_params is not None and n_params > 1_000_000_000
        ckpt = cuda and (stage.quantization == "4bit" or big)
    else:
        ckpt = bool(train.gradient_checkpointing)
    return Hardware(device="cuda" if cuda else "cpu", precision=precision, gradient_checkpointing=ckpt)


def training_kwargs(ctx: StageContext, *, has_eval: bool) -> dict[str, Any]:
    """Arguments shared by SFTConfig, DPOConfig and TrainingArguments, all set deliberately."""
    t = ctx.stage.train
    hw = ctx.hardware
    eval_strategy = "no"
    if has_eval:
        eval_strategy = "steps" if t.eval_steps else "no"  # start/end evaluations are explicit calls
    kwargs: dict[str, Any] = {
        "output_dir": str(ctx.out_dir / "checkpoints"),
        "num_train_epochs": t.epochs,
        "max_steps": t.max_steps if t.max_steps > 0 else -1,
        "per_device_train_batch_size": t.batch_size,
        "per_device_eval_batch_size": t.eval_batch_size or t.batch_size,
        "gradient_accumulation_steps": t.grad_accum,
        "learning_rate": t.learning_rate,
        "lr_scheduler_type": t.lr_scheduler,
        "warmup_steps": t.warmup_ratio,  # a float < 1 is a ratio of the total steps in transformers 5
        "weight_decay": t.weight_decay,
        "max_grad_norm": t.max_grad_norm,
        "optim": t.optim,
        "seed": t.seed,
        "data_seed": t.seed,
        "logging_steps": t.logging_steps,
        "logging_first_step": True,
        "eval_strategy": eval_strategy,
        "eval_steps": t.eval_steps,
        "save_strategy": "no",
        "report_to": "none",
        "bf16": hw.precision == "bf16",
        "fp16": hw.precision == "fp16",
        "use_cpu": hw.device == "cpu",
        "activation_checkpointing": hw.gradient_checkpointing,
        "activation_checkpointing_kwargs": {"use_reentrant": False} if hw.gradient_checkpointing else None,
        "include_num_input_tokens_seen": "non_padding",
        "dataloader_num_workers": 0,
        "dataloader_pin_memory": hw.device == "cuda",
        "disable_tqdm": ctx.quiet,
        "log_level": "error" if ctx.quiet else "warning",
        "remove_unused_columns": True,
    }
    return kwargs


def prepare_trainer(trainer: Any, ctx: StageContext) -> Any:
    """Quiet mode (``--json``): no progress bars, no log dicts printed on stdout."""
    if ctx.quiet:
        from transformers import PrinterCallback, ProgressCallback

        trainer.remove_callback(PrinterCallback)
        trainer.remove_callback(ProgressCallback)
    return trainer


def safe_exp(loss: float | None) -> float | None:
    if loss is None:
        return None
    return math.exp(min(loss, 50.0))


def evaluate_loss(trainer: Any) -> float | None:
    if trainer.eval_dataset is None:
        return None
    metrics = trainer.evaluate()
    loss = metrics.get("eval_loss")
    return float(loss) if loss is not None and math.isfinite(loss) else None


def audit_lengths(ctx: StageContext, texts: list[str]) -> tuple[list[int], int]:
    """Token counts of sampled rendered rows, and how many of them exceed ``train.max_length``."""
    sample = [len(ctx.tokenizer(text, add_special_tokens=False)["input_ids"]) for text in texts]
    return sample, sum(n > ctx.stage.train.max_length for n in sample)


def make_trainer(trainer_cls: Any, ctx: StageContext, args: Any, train_rows: list[dict[str, Any]],
                 val_rows: list[dict[str, Any]], **kwargs: Any) -> Any:
    """A TRL trainer on the rows (no eval set without validation rows), recording its losses in
    ``trainer.recorder``, quiet mode applied."""
    from datasets import Dataset

    from finetune.report import LossRecorder

    recorder = LossRecorder()
    trainer = trainer_cls(model=ctx.model, args=args, train_dataset=Dataset.from_list(train_rows),
                          eval_dataset=Dataset.from_list(val_rows) if val_rows else None,
                          processing_class=ctx.tokenizer, callbacks=[recorder], peft_config=ctx.peft_config,
                          **kwargs)
    trainer.recorder = recorder
    return prepare_trainer(trainer, ctx)


def train_evaluated(trainer: Any) -> tuple[float | None, float | None]:
    """Train, with an evaluation pass just before and just after: (eval loss before, eval loss after)."""
    before = evaluate_loss(trainer)
    trainer.train()
    return before, evaluate_loss(trainer)
