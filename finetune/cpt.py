"""Continual pre-training: causal LM on packed fixed-length blocks of a cleaned, deduplicated corpus.

The corpus folder (``.txt``/``.md``/``.html``) goes through :mod:`finetune.corpus` (load, clean, exact +
near-duplicate removal), is split *by document* into train and held-out, tokenised, and packed into blocks
of ``train.max_length`` tokens with an EOS between documents. Held-out perplexity (exp of the mean loss over
the held-out blocks, all full length but possibly the last) is measured before and after training: the
figure that says whether the model learnt the domain's language without a document of the held-out side
ever being trained on.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from finetune.common import (
    MethodResult,
    StageContext,
    prepare_trainer,
    safe_exp,
    train_evaluated,
    training_kwargs,
)
from finetune.dataset import CORPUS_SUBDIR, DataError


def corpus_dir(data_dir: str | Path) -> Path:
    """DIR/corpus when it exists (a dataset folder holding a corpus), else DIR itself."""
    path = Path(data_dir).expanduser()
    sub = path / CORPUS_SUBDIR
    return sub if sub.is_dir() else path


def load_corpus(data_dir: str | Path, ctx_stage: Any) -> tuple[list[str], list[str], Any]:
    """(train texts, held-out texts, PreparedCorpus). Raises DataError."""
    from finetune.corpus import CorpusError, prepare_corpus, split_documents

    opts = ctx_stage.cpt
    try:
        prepared = prepare_corpus(corpus_dir(data_dir), threshold=opts.near_dup_threshold, near=opts.near_dedupe,
                                  seed=ctx_stage.train.seed)
    except CorpusError as exc:
        raise DataError(str(exc)) from None
    if len(prepared.documents) < 2:
        raise DataError(f"{data_dir}: cpt needs at least 2 documents after cleaning and deduplication "
                        f"(one is held out for perplexity), found {len(prepared.documents)}")
    train_docs, held_docs = split_documents(prepared.documents, opts.held_out, seed=ctx_stage.train.seed)
    return [d.text for d in train_docs], [d.text for d in held_docs], prepared


def render_texts(data_dir: str | Path, stage: Any) -> list[str]:
    train, held, _ = load_corpus(data_dir, stage)
    return train + held


def _blocks(texts: list[str], tokenizer: Any, block_size: int, *, keep_tail: bool) -> list[dict[str, list[int]]]:
    from finetune.corpus import pack_blocks

    ids = [tokenizer(t, add_special_tokens=False)["input_ids"] for t in texts]
    eos = tokenizer.eos_token_id
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else eos
    blocks = pack_blocks(ids, block_size, eos)
    if not blocks or keep_tail:
        blocks = pack_blocks(ids, block_size, eos, pad_id=pad)
    out = []
    for block in blocks:
        # Padding only ever sits at the tail of the last block: drop it from the loss, keep attention plain.
        real = len(block)
        while keep_tail and real > 0 and block[real - 1] == pad and pad != eos:
            real -= 1
        labels = block[:real] + [-100] * (len(block) - real)
        out.append({"input_ids": block, "attention_mask": [1] * real + [0] * (len(block) - real),
                    "labels": labels})
    return out


def train_cpt(ctx: StageContext) -> MethodResult:
    from datasets import Dataset
    from transformers import Trainer, TrainingArguments, default_data_collator

    from finetune.report import LossRecorder

    train_texts, held_texts, prepared = load_corpus(ctx.data_dir, ctx.stage)
    size = ctx.stage.train.max_length
    train_blocks = _blocks(train_texts, ctx.tokenizer, size, keep_tail=False)
    held_blocks = _blocks(held_texts, ctx.tokenizer, size, keep_tail=True)
    if not train_blocks:
        raise DataError(f"{ctx.data_dir}: the corpus is too small for one block of {size} tokens")
    dd = prepared.dedupe
    ctx.notes.append(f"corpus: {prepared.found} documents found, {len(prepared.emptied)} empty after cleaning, "
                     f"{dd.exact_removed} exact and {dd.near_removed} near duplicates removed; "
                     f"{len(train_texts)} train / {len(held_texts)} held-out documents; "
                     f"{len(train_blocks)} train / {len(held_blocks)} held-out blocks of {size} tokens")
    args = TrainingArguments(**training_kwargs(ctx, has_eval=True))
    model = ctx.model
    if ctx.peft_config is not None:
        from peft import get_peft_model

        if ctx.hardware.gradient_checkpointing:
            model.enable_input_require_grads()
        model = get_peft_model(model, ctx.peft_config)
    recorder = LossRecorder()
    trainer = Trainer(model=model, args=args, train_dataset=Dataset.from_list(train_blocks),
                      eval_dataset=Dataset.from_list(held_blocks), data_collator=default_data_collator,
                      processing_class=ctx.tokenizer, callbacks=[recorder])
    trainer.recorder = recorder
    prepare_trainer(trainer, ctx)
    before, after = train_evaluated(trainer)
    return MethodResult(trainer=trainer, train_rows=len(train_blocks), eval_rows=len(held_blocks),
                        eval_loss_before=before, eval_loss_after=after, perplexity_before=safe_exp(before),
                        perplexity_after=safe_exp(after), tokens_estimate=len(train_blocks) * size,
                        extra_metrics={"documents_train": float(len(train_texts)),
                                       "documents_held_out": float(len(held_texts)),
                                       "duplicates_removed": float(dd.exact_removed + dd.near_removed)})
