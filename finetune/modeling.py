"""Models for training: a tiny from-scratch decoder with its own BPE, local models, LoRA targets, 4-bit.

LoRA targets are chosen by looking at the model's module names, never by assuming ``q_proj/k_proj/v_proj``:
Phi-3/Phi-4-mini fuse attention into ``qkv_proj`` and the MLP into ``gate_up_proj``, GPT-2 uses ``Conv1D``
layers called ``c_attn``/``c_proj``/``c_fc``, Falcon/GPT-NeoX use ``query_key_value``. A model of an
unknown family gets every linear layer inside its blocks (not the output head, not an MoE router).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agent.brains.tiny import SAMPLE_TEXT, SPECIAL_TOKENS, TOOL_TOKENS
from finetune.config import ConfigError, LoraSpec, TinyModelSpec, TokenizerSpec

if TYPE_CHECKING:
    import torch

# Known module-name families, most specific first: (label, names that must all be present, targets).
TARGET_FAMILIES: list[tuple[str, tuple[str, ...], tuple[str, ...]]] = [
    ("phi3 (fused qkv_proj / gate_up_proj)", ("qkv_proj", "gate_up_proj"),
     ("qkv_proj", "o_proj", "gate_up_proj", "down_proj")),
    ("llama/qwen/mistral (q,k,v,o + gate,up,down)", ("q_proj", "k_proj", "v_proj", "gate_proj"),
     ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")),
    ("gpt2 (Conv1D c_attn / c_proj / c_fc)", ("c_attn", "c_fc"), ("c_attn", "c_proj", "c_fc")),
    ("falcon/gpt-neox (fused query_key_value)", ("query_key_value",),
     ("query_key_value", "dense", "dense_h_to_4h", "dense_4h_to_h")),
    ("phi-2 (q,k,v + dense, fc1/fc2)", ("q_proj", "k_proj", "v_proj", "fc1", "fc2"),
     ("q_proj", "k_proj", "v_proj", "dense", "fc1", "fc2")),
    ("mpt (Wqkv)", ("Wqkv",), ("Wqkv", "out_proj", "up_proj", "down_proj")),
]
# Linear layers never worth adapting: routers and scoring heads (the output head is found separately).
_NEVER = {"lm_head", "embed_out", "score", "classifier", "router", "gate"}


def _is_linear(module: Any) -> bool:
    import torch

    if isinstance(module, torch.nn.Linear):
        return True
    name = type(module).__name__
    return name in {"Conv1D", "Linear4bit", "Linear8bitLt"}


def linear_leaf_names(model: Any) -> dict[str, int]:
    """Leaf names of linear-like layers (how often each occurs), the output head excluded."""
    head = model.get_output_embeddings() if hasattr(model, "get_output_embeddings") else None
    counts: dict[str, int] = {}
    for full, module in model.named_modules():
        if module is head or not _is_linear(module):
            continue
        leaf = full.rsplit(".", 1)[-1]
        if leaf in _NEVER:
            continue
        counts[leaf] = counts.get(leaf, 0) + 1
    return counts


def select_target_modules(model: Any) -> tuple[list[str], str]:
    """LoRA ``target_modules`` for this model, by inspecting its module names; (names, which family)."""
    present = linear_leaf_names(model)
    if not present:
        raise ConfigError("lora.target_modules: auto: the model has no linear layers to adapt")
    for label, required, targets in TARGET_FAMILIES:
        if all(r in present for r in required):
            return [t for t in targets if t in present], label
    return sorted(present), "generic (every linear layer in the blocks)"


def lora_config(spec: LoraSpec, model: Any, *, source: str = "<config>") -> tuple[Any, list[str], str]:
    """A peft LoraConfig for ``model``; (config, target names, how they were chosen)."""
    from peft import LoraConfig

    if spec.target_modules == "auto":
        targets, how = select_target_modules(model)
    elif spec.target_modules == "all-linear":
        targets, how = sorted(linear_leaf_names(model)), "all-linear"
    else:
        present = linear_leaf_names(model)
        missing = [t for t in spec.target_modules if t not in present]
        if missing:
            raise ConfigError(f"{source}: lora.target_modules: {missing} not in the model (its linear layers: "
                              f"{sorted(present)})")
        targets, how = list(spec.target_modules), "config"
    # GPT-2's Conv1D stores weights transposed: peft must know (it would warn and flip it itself).
    conv1d = any(type(m).__name__ == "Conv1D" and n.rsplit(".", 1)[-1] in targets for n, m in model.named_modules())
    cfg = LoraConfig(r=spec.r, lora_alpha=spec.alpha, lora_dropout=spec.dropout, target_modules=targets,
                     modules_to_save=spec.modules_to_save, use_rslora=spec.use_rslora, bias="none",
                     fan_in_fan_out=conv1d, task_type="CAUSAL_LM")
    return cfg, targets, how


# ---- tokenizer -------------------------------------------------------------------------------------------


def train_tokenizer(texts: Iterable[str], spec: TokenizerSpec) -> Any:
    """A byte-level BPE tokenizer trained on ``texts`` (digits one per token if asked), chat-ready.

    The same special tokens and non-special tool tags as :mod:`agent.brains.tiny`, so the hf brain and
    the tool-call parser treat a trained tiny model like the built-in one.
    """
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import AddedToken, PreTrainedTokenizerFast

    budget = spec.max_corpus_chars
    sample: list[str] = SAMPLE_TEXT.splitlines()
    for text in texts:
        if budget <= 0:
            break
        sample.append(text[:budget])
        budget -= len(text)
    tok = Tokenizer(models.BPE())
    byte_level = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.pre_tokenizer = (pre_tokenizers.Sequence([pre_tokenizers.Digits(individual_digits=True), byte_level])
                         if spec.split_digits else byte_level)
    tok.decoder = decoders.ByteLevel()
    alphabet = pre_tokenizers.ByteLevel.alphabet()
    floor = len(alphabet) + len(SPECIAL_TOKENS)
    trainer = trainers.BpeTrainer(vocab_size=max(spec.vocab_size - len(TOOL_TOKENS), floor),
                                  special_tokens=SPECIAL_TOKENS, initial_alphabet=alphabet, show_progress=False)
    tok.train_from_iterator(sample, trainer=trainer)
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="<|im_end|>", pad_token="<|endoftext|>",
                                   model_max_length=1 << 20, clean_up_tokenization_spaces=False)
    fast.add_tokens([AddedToken(t, special=False, normalized=False) for t in TOOL_TOKENS])
    return fast


# ---- models ----------------------------------------------------------------------------------------------


def build_tiny_model(spec: TinyModelSpec, tokenizer: Any) -> Any:
    """A randomly initialised Llama- or Qwen2-style causal LM sized for ``tokenizer`` (seeded)."""
    import torch
    from transformers import GenerationConfig, LlamaConfig, LlamaForCausalLM, Qwen2Config, Qwen2ForCausalLM

    eos_id = tokenizer.convert_tokens_to_ids("<|im_end|>")
    pad_id = tokenizer.pad_token_id
    common = {"vocab_size": len(tokenizer), "hidden_size": spec.hidden_size,
              "intermediate_size": spec.intermediate_size or spec.hidden_size * 3,
              "num_hidden_layers": spec.layers, "num_attention_heads": spec.heads,
              "num_key_value_heads": spec.kv_heads or spec.heads, "max_position_embeddings": spec.max_positions,
              "bos_token_id": pad_id, "eos_token_id": eos_id, "pad_token_id": pad_id,
              "tie_word_embeddings": spec.tie_embeddings}
    config_cls, model_cls = (LlamaConfig, LlamaForCausalLM) if spec.arch == "llama" else (Qwen2Config,
                                                                                           Qwen2ForCausalLM)
    torch.manual_seed(spec.seed)
    model = model_cls(config_cls(**common))
    model.generation_config = GenerationConfig(eos_token_id=eos_id, pad_token_id=pad_id, bos_token_id=pad_id)
    return model


def cuda_available() -> bool:
    import torch

    return torch.cuda.is_available()


def nf4_config(source: str = "<config>") -> Any:
    """BitsAndBytes 4-bit NF4, bf16 compute, double quantisation (the QLoRA / TSLAM-Mini setting)."""
    import torch

    if not torch.cuda.is_available():
        raise ConfigError(f"{source}: quantization: 4bit (QLoRA, bitsandbytes NF4) needs a CUDA GPU and none is "
                          "here; set quantization: none to train full-precision LoRA on CPU")
    try:
        import bitsandbytes  # noqa: F401
    except ImportError:
        raise ConfigError(f"{source}: quantization: 4bit needs the bitsandbytes package "
                          "(pip install bitsandbytes)") from None
    from transformers import BitsAndBytesConfig

    storage = torch.bfloat16 if os.environ.get("ACCELERATE_USE_FSDP", "").lower() in ("1", "true") else torch.uint8
    return BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_compute_dtype=torch.bfloat16,
                              bnb_4bit_use_double_quant=True, bnb_4bit_quant_storage=storage)


def load_model(path: str | Path, *, quantization: str = "none", dtype: torch.dtype | None = None,
               trust_remote_code: bool = False, source: str = "<config>") -> Any:
    """A causal LM from a local directory (no downloads): fp32/bf16, or NF4 4-bit on CUDA."""
    import torch
    from transformers import AutoModelForCausalLM

    quant = nf4_config(source) if quantization == "4bit" else None
    kwargs: dict[str, Any] = {"trust_remote_code": trust_remote_code,
                              "local_files_only": Path(path).expanduser().exists()}
    try:
        if quant is not None:
            local_rank = int(os.environ.get("LOCAL_RANK", "0"))
            fsdp = os.environ.get("ACCELERATE_USE_FSDP", "").lower() in ("1", "true")
            return AutoModelForCausalLM.from_pretrained(
                str(path), quantization_config=quant, dtype=torch.bfloat16,
                **({} if fsdp else {"device_map": {"": local_rank}}), **kwargs)
        return AutoModelForCausalLM.from_pretrained(str(path), dtype=dtype or torch.float32, **kwargs)
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{source}: model: cannot load a causal LM from {str(path)!r}: "
                          f"{str(exc).splitlines()[0]}") from None


def load_tokenizer(path: str | Path, *, trust_remote_code: bool = False, source: str = "<config>") -> Any:
    from transformers import AutoTokenizer

    try:
        tok = AutoTokenizer.from_pretrained(str(path), trust_remote_code=trust_remote_code,
                                            local_files_only=Path(path).expanduser().exists())
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{source}: model: cannot load a tokenizer from {str(path)!r}: "
                          f"{str(exc).splitlines()[0]}") from None
    if tok.pad_token is None:  # Llama-style tokenizers ship without one; padding is masked anyway
        tok.pad_token = tok.eos_token
    return tok


_WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".gguf")
_TOKENIZER_FILES = {"tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "tokenizer.model",
                    "vocab.json", "merges.txt", "added_tokens.json", "chat_template.jinja", "chat_template.json"}


def write_base_view(model_path: Path, tokenizer: Any, out: Path, *, end_of_turn: str | None) -> Path:
    """``out``: the base model's files as symlinks plus *this run's* tokenizer (with its chat template).

    ``hf:OUT,adapter=ADAPTER`` then renders prompts exactly as training did, without copying gigabytes of
    weights. The generation config is rewritten so the template's end-of-turn token also stops decoding.
    """
    out.mkdir(parents=True, exist_ok=True)
    for item in sorted(model_path.iterdir()):
        if item.name in _TOKENIZER_FILES or item.name == "generation_config.json" or item.name.startswith("."):
            continue
        link = out / item.name
        if link.is_symlink() or link.exists():
            continue
        if item.is_file() and (item.suffix in _WEIGHT_SUFFIXES or item.suffix == ".json" or item.suffix == ".py"):
            link.symlink_to(item.resolve())
    tokenizer.save_pretrained(out)
    write_generation_config(model_path, out, tokenizer, end_of_turn)
    return out


def write_generation_config(model_path: Path | None, out: Path, tokenizer: Any, end_of_turn: str | None) -> None:
    gen: dict[str, Any] = {}
    if model_path is not None and (model_path / "generation_config.json").is_file():
        gen = json.loads((model_path / "generation_config.json").read_text(encoding="utf-8"))
    eos = gen.get("eos_token_id", tokenizer.eos_token_id)
    eos_ids = [e for e in (eos if isinstance(eos, list) else [eos]) if e is not None]
    if end_of_turn is not None:
        eot = tokenizer.convert_tokens_to_ids(end_of_turn)
        if isinstance(eot, int) and eot != tokenizer.unk_token_id and eot not in eos_ids:
            eos_ids.append(eot)
    gen["eos_token_id"] = eos_ids[0] if len(eos_ids) == 1 else eos_ids
    if tokenizer.pad_token_id is not None:
        gen.setdefault("pad_token_id", tokenizer.pad_token_id)
    (out / "generation_config.json").write_text(json.dumps(gen, indent=2) + "\n", encoding="utf-8")


def count_parameters(model: Any) -> tuple[int, int]:
    """(trainable, total) parameter counts."""
    total = trainable = 0
    for p in model.parameters():
        n = p.numel()
        if type(p).__name__ == "Params4bit":  # packed two per byte
            n *= 2
        total += n
        if p.requires_grad:
            trainable += n
    return trainable, total


def module_names(model: Any) -> Sequence[str]:
    return [name for name, _ in model.named_modules()]
