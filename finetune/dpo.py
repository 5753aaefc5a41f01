"""Preference tuning (TRL ``DPOTrainer``) on ``prompt`` / ``chosen`` / ``rejected`` conversational rows.

With LoRA the reference model is the same weights with the adapter switched off, i.e. the stage's starting
point (the previous stage's merged output in a chained recipe): DPO pulls the policy away from *that*.
With full fine-tuning TRL keeps a frozen copy as the reference.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from finetune.common import (
    MethodResult,
    StageContext,
    audit_lengths,
    make_trainer,
    train_evaluated,
    training_kwargs,
)
from finetune.dataset import DataError, check_rows, read_jsonl, split_files


def load_dpo_rows(data_dir: str | Path) -> tuple[list[dict[str, Any]], list[dict[str, Any]], Path]:
    train_file, val_file = split_files(data_dir, "dpo")
    train = read_jsonl(train_file)
    check_rows(train_file, train, "dpo")
    val = read_jsonl(val_file) if val_file else []
    if val:
        check_rows(val_file, val, "dpo")  # type: ignore[arg-type]
    return [_columns(r, train_file) for r in train], [_columns(r, val_file) for r in val], train_file


def _columns(row: dict[str, Any], path: Path | None) -> dict[str, Any]:
    out = {k: row[k] for k in ("prompt", "chosen", "rejected")}
    if not all(isinstance(out[k], list) for k in out):
        raise DataError(f"{path}: prompt/chosen/rejected must be lists of messages (conversational format)")
    tools = row.get("tools")
    out["tools"] = "[]" if tools is None else tools if isinstance(tools, str) else json.dumps(tools)
    return out


def render_texts(rows: list[dict[str, Any]], tokenizer: Any) -> list[str]:
    out = []
    for row in rows:
        tools = json.loads(row["tools"]) or None
        for side in ("chosen", "rejected"):
            out.append(tokenizer.apply_chat_template(row["prompt"] + row[side], tools=tools, tokenize=False))
    return out


def train_dpo(ctx: StageContext) -> MethodResult:
    from trl import DPOConfig, DPOTrainer

    train_rows, val_rows, _ = load_dpo_rows(ctx.data_dir)
    opts = ctx.stage.dpo
    max_length = ctx.stage.train.max_length
    sample, over = audit_lengths(ctx, render_texts(train_rows[:250], ctx.tokenizer))
    if over:
        ctx.notes.append(f"{over} of {len(sample)} sampled prompt+completion sequences are longer than max_length "
                         f"{max_length} tokens (max {max(sample)}): their completions are truncated")
    args = DPOConfig(**training_kwargs(ctx, has_eval=bool(val_rows)), max_length=ctx.stage.train.max_length,
                     beta=opts.beta, loss_type=[opts.loss_type], dataset_num_proc=None)
    trainer = make_trainer(DPOTrainer, ctx, args, train_rows, val_rows, ref_model=None)
    before, after = train_evaluated(trainer)
    extra = {}
    if trainer.recorder.eval_metrics:
        last = trainer.recorder.eval_metrics[-1]
        extra = {k.removeprefix("eval_"): v for k, v in last.items()
                 if k.startswith("eval_rewards") or k.startswith("eval_logps")}
    return MethodResult(trainer=trainer, train_rows=len(train_rows), eval_rows=len(val_rows),
                        eval_loss_before=before, eval_loss_after=after, extra_metrics=extra)
