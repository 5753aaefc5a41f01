"""Supervised fine-tuning on conversational tool-calling rows (TRL ``SFTTrainer``).

Rows are ``messages`` + ``tools`` (JSON); the loss is on assistant tokens only (``assistant_only_loss``,
which relies on the chat template's ``{% generation %}`` markers): the model learns to call tools and to
answer, not to reproduce tool outputs or the user's words.
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

SFT_COLUMNS = ("messages", "tools")


def load_sft_rows(data_dir: str | Path) -> tuple[list[dict[str, Any]], list[dict[str, Any]], Path]:
    """(train rows, validation rows, train file) with only the columns the trainer uses."""
    train_file, val_file = split_files(data_dir, "sft")
    train = read_jsonl(train_file)
    check_rows(train_file, train, "sft")
    val = read_jsonl(val_file) if val_file else []
    if val:
        check_rows(val_file, val, "sft")  # type: ignore[arg-type]
    return [_columns(r, train_file) for r in train], [_columns(r, val_file) for r in val], train_file


def _columns(row: dict[str, Any], path: Path | None) -> dict[str, Any]:
    tools = row.get("tools")
    if tools is None:
        tools = "[]"
    elif not isinstance(tools, str):  # a list of schemas: serialise, so every row has one Arrow type
        tools = json.dumps(tools)
    else:
        try:
            json.loads(tools)
        except json.JSONDecodeError:
            raise DataError(f"{path}: a 'tools' value is not JSON text") from None
    return {"messages": row["messages"], "tools": tools}


def render_texts(rows: list[dict[str, Any]], tokenizer: Any) -> list[str]:
    """Rows as the model sees them (chat template applied): the text a tiny tokenizer is trained on."""
    out = []
    for row in rows:
        tools = json.loads(row["tools"]) if isinstance(row.get("tools"), str) else row.get("tools")
        out.append(tokenizer.apply_chat_template(row["messages"], tools=tools or None, tokenize=False))
    return out


def train_sft(ctx: StageContext) -> MethodResult:
    from trl import SFTConfig, SFTTrainer

    train_rows, val_rows, train_file = load_sft_rows(ctx.data_dir)
    opts = ctx.stage.sft
    max_length = ctx.stage.train.max_length
    sample, over = audit_lengths(ctx, render_texts(train_rows[:500], ctx.tokenizer))
    if over:
        ctx.notes.append(f"{over} of {len(sample)} sampled training rows are longer than max_length {max_length} "
                         f"tokens (mean {sum(sample) / len(sample):.0f}, max {max(sample)}) and are truncated")
    args = SFTConfig(**training_kwargs(ctx, has_eval=bool(val_rows)), max_length=ctx.stage.train.max_length,
                     assistant_only_loss=opts.assistant_only_loss, packing=opts.packing,
                     packing_strategy="bfd_split" if opts.packing else "bfd", dataset_num_proc=None)
    trainer = make_trainer(SFTTrainer, ctx, args, train_rows, val_rows)
    kept = len(trainer.train_dataset)
    if kept == 0:
        raise DataError(f"{train_file}: no row keeps an assistant token within max_length {max_length} "
                        f"(rows average {sum(sample) / max(len(sample), 1):.0f} tokens); raise train.max_length "
                        "or write shorter rows")
    if kept < len(train_rows):
        ctx.notes.append(f"{len(train_rows) - kept} training rows dropped: truncation at max_length left them "
                         "no assistant token")
    if trainer.eval_dataset is not None and len(trainer.eval_dataset) == 0:
        ctx.notes.append("no validation row keeps an assistant token within max_length: no evaluation")
        trainer.eval_dataset = None
    before, after = train_evaluated(trainer)
    tokens = sum(len(ids) for ids in trainer.train_dataset["input_ids"])
    stats = {"row_tokens_mean": sum(sample) / len(sample), "row_tokens_max": float(max(sample)),
             "rows_over_max_length": float(over), "rows_sampled": float(len(sample))}
    eval_rows = len(trainer.eval_dataset) if trainer.eval_dataset is not None else 0
    return MethodResult(trainer=trainer, train_rows=kept, eval_rows=eval_rows, eval_loss_before=before,
                        eval_loss_after=after, tokens_estimate=tokens, extra_metrics=stats)
