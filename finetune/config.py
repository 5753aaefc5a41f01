"""The ``twinops finetune`` configuration: one YAML file (or a shipped preset), validated with pydantic.

A config names the base model (a local path, or a ``tiny`` from-scratch spec), the tokenizer, the method
(``sft`` | ``dpo`` | ``cpt``) or a chained recipe (``stages: [...]``), LoRA, quantization and the training
arguments. Every error is one line naming the file and the field, e.g.::

    my.yaml: train.learning_rate: Input should be a valid number, unable to parse string as a number

Stages inherit the top-level sections (``train``, ``lora``, ``sft``/``dpo``/``cpt``, ``quantization``) and
override only what they set; ``lora: null`` in a stage switches that stage to full fine-tuning. Relative
``data`` paths of a stage resolve against the top-level ``data`` directory (which ``--data`` overrides), so
one dataset folder with ``corpus/`` + ``train.jsonl`` + ``dpo/`` feeds a whole ``cpt -> sft -> dpo`` recipe.
Relative ``data``/``output``/``model`` paths resolve against the working directory; a ``chat_template``
file path resolves against the config file's folder.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)

PRESET_DIR = Path(__file__).with_name("presets")
Method = Literal["sft", "dpo", "cpt"]
# Sections a stage inherits from the top level and may override.
STAGE_SECTIONS = ("train", "lora", "sft", "dpo", "cpt", "quantization")


class ConfigError(ValueError):
    """A config that cannot be used; the message is one line naming the file (and field)."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TinyModelSpec(_Strict):
    """A small decoder initialised from scratch (random weights, seeded): for CPU tests and demos."""

    arch: Literal["llama", "qwen2"] = "llama"
    hidden_size: int = Field(128, ge=8)
    layers: int = Field(4, ge=1)
    heads: int = Field(4, ge=1)
    kv_heads: int | None = Field(None, ge=1, description="grouped-query attention; default = heads")
    intermediate_size: int | None = Field(None, ge=8, description="default 3 x hidden_size")
    max_positions: int = Field(4096, ge=16)
    tie_embeddings: bool = True
    seed: int = 0

    @model_validator(mode="after")
    def _heads_divide(self) -> TinyModelSpec:
        if self.hidden_size % self.heads:
            raise ValueError(f"hidden_size {self.hidden_size} is not divisible by heads {self.heads}")
        if self.kv_heads is not None and self.heads % self.kv_heads:
            raise ValueError(f"heads {self.heads} is not divisible by kv_heads {self.kv_heads}")
        return self


class ModelSpec(_Strict):
    """``path`` (a local transformers model directory or hub id already in the local cache) or ``tiny``."""

    path: str | None = None
    tiny: TinyModelSpec | None = None
    trust_remote_code: bool = False

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, value: Any) -> Any:
        if isinstance(value, str):  # `model: /models/phi-4-mini` or `model: tiny`
            return {"tiny": {}} if value.strip() in ("tiny", "tiny:") else {"path": value}
        if isinstance(value, dict) and "tiny" in value and value["tiny"] is None:
            return {**value, "tiny": {}}
        return value

    @model_validator(mode="after")
    def _exactly_one(self) -> ModelSpec:
        if (self.path is None) == (self.tiny is None):
            raise ValueError("set exactly one of model.path (a local model) or model.tiny (from scratch)")
        return self


class TokenizerSpec(_Strict):
    """``model``: the base model's tokenizer. ``train_bpe``: a byte-level BPE trained on the data (tiny only)."""

    source: Literal["model", "train_bpe"] = "model"
    vocab_size: int = Field(2048, ge=300, le=200_000)
    split_digits: bool = Field(True, description="one token per digit: helps small models copy IP addresses")
    max_corpus_chars: int = Field(20_000_000, ge=1000, description="text sampled from the data to train BPE")


class LoraSpec(_Strict):
    r: int = Field(16, ge=1)
    alpha: int = Field(32, ge=1)
    dropout: float = Field(0.05, ge=0.0, lt=1.0)
    target_modules: Literal["auto", "all-linear"] | list[str] = Field(
        "auto", description="'auto': chosen per architecture from the model's module names")
    modules_to_save: list[str] | None = None
    use_rslora: bool = False


class TrainArgs(_Strict):
    epochs: float = Field(1.0, gt=0)
    max_steps: int = Field(-1, description="> 0 overrides epochs")
    learning_rate: float = Field(2e-4, gt=0)
    batch_size: int = Field(8, ge=1, description="per device")
    grad_accum: int = Field(1, ge=1)
    max_length: int = Field(1024, ge=16, description="tokens per sequence (cpt: the block size)")
    precision: Literal["auto", "bf16", "fp16", "fp32"] = Field(
        "auto", description="auto: bf16 where supported (CUDA with bf16, and CPU autocast), else fp32")
    gradient_checkpointing: bool | Literal["auto"] = Field(
        "auto", description="auto: on for CUDA + 4-bit/large models, off on CPU (small models: only slower)")
    lr_scheduler: str = "cosine"
    warmup_ratio: float = Field(0.03, ge=0.0, lt=1.0)
    weight_decay: float = Field(0.0, ge=0.0)
    max_grad_norm: float = Field(1.0, gt=0)
    optim: str = "adamw_torch"
    seed: int = 42
    logging_steps: int = Field(5, ge=1)
    eval_steps: int | None = Field(None, ge=1, description="evaluate every N steps (default: start and end)")
    eval_batch_size: int | None = Field(None, ge=1)
    torch_threads: int | None = Field(None, ge=1, description="CPU threads (default: torch's choice)")


class SFTOptions(_Strict):
    assistant_only_loss: bool = True
    packing: bool = False


class DPOOptions(_Strict):
    beta: float = Field(0.1, gt=0)
    loss_type: str = "sigmoid"


class CPTOptions(_Strict):
    held_out: float = Field(0.1, gt=0.0, lt=1.0, description="fraction of documents held out for perplexity")
    near_dup_threshold: float = Field(0.8, gt=0.0, le=1.0)
    near_dedupe: bool = True


class StageSpec(_Strict):
    """One stage of a chained recipe; unset sections inherit the top level."""

    method: Method
    name: str | None = None
    data: str = "."
    train: dict[str, Any] | None = None
    lora: dict[str, Any] | None = None
    quantization: Literal["none", "4bit"] | None = None
    sft: dict[str, Any] | None = None
    dpo: dict[str, Any] | None = None
    cpt: dict[str, Any] | None = None


class Stage(_Strict):
    """A fully resolved stage: what one trainer run gets."""

    index: int
    name: str
    method: Method
    data: str
    train: TrainArgs
    lora: LoraSpec | None
    quantization: Literal["none", "4bit"]
    sft: SFTOptions
    dpo: DPOOptions
    cpt: CPTOptions


class FinetuneConfig(_Strict):
    name: str = "run"
    description: str = ""
    method: Method | None = None
    stages: list[StageSpec] | None = None
    model: ModelSpec
    tokenizer: TokenizerSpec = Field(default_factory=TokenizerSpec)
    chat_template: str = Field("auto", description="auto | model | twinops | phi4mini | PATH to a .jinja file")
    lora: LoraSpec | None = None
    quantization: Literal["none", "4bit"] = "none"
    train: TrainArgs = Field(default_factory=TrainArgs)
    sft: SFTOptions = Field(default_factory=SFTOptions)
    dpo: DPOOptions = Field(default_factory=DPOOptions)
    cpt: CPTOptions = Field(default_factory=CPTOptions)
    data: str | None = None
    output: str | None = None
    merge: bool = Field(False, description="also write the final adapter merged into the base (RUN/merged)")
    # Set by load_config, not by users: where the config came from (for messages and the model card).
    _source: str = PrivateAttr("<config>")

    @property
    def source(self) -> str:
        return self._source

    @field_validator("name")
    @classmethod
    def _safe_name(cls, value: str) -> str:
        if not value or any(c in value for c in "/\\\n"):
            raise ValueError("name must be a non-empty single path component")
        return value

    @model_validator(mode="after")
    def _method_or_stages(self) -> FinetuneConfig:
        if (self.method is None) == (not self.stages):
            raise ValueError("set exactly one of 'method' (sft | dpo | cpt) or a non-empty 'stages' list")
        if self.tokenizer.source == "train_bpe" and self.model.tiny is None:
            raise ValueError("tokenizer.source train_bpe only works with model.tiny (a pretrained model "
                             "keeps its own tokenizer)")
        return self

    def resolved_stages(self) -> list[Stage]:
        """The stages to run, each with its sections merged over the top level (raises ConfigError)."""
        specs = self.stages or [StageSpec(method=self.method or "sft")]
        out: list[Stage] = []
        for index, spec in enumerate(specs):
            where = f"stages.{index}." if self.stages else ""
            merged: dict[str, Any] = {}
            for section in ("train", "sft", "dpo", "cpt"):
                base = getattr(self, section).model_dump()
                merged[section] = _deep_merge(base, getattr(spec, section) or {})
            if "lora" in spec.model_fields_set:
                if spec.lora is None:
                    merged["lora"] = None
                else:
                    base_lora = self.lora.model_dump() if self.lora is not None else {}
                    merged["lora"] = _deep_merge(base_lora, spec.lora)
            else:
                merged["lora"] = self.lora.model_dump() if self.lora is not None else None
            merged["quantization"] = spec.quantization or self.quantization
            name = spec.name or (f"{index + 1:02d}-{spec.method}" if self.stages else spec.method)
            try:
                stage = Stage(index=index, name=name, method=spec.method, data=spec.data, **merged)
            except ValidationError as err:
                raise ConfigError(_first_error(self.source, err, prefix=where)) from None
            if stage.quantization == "4bit" and stage.lora is None:
                raise ConfigError(f"{self.source}: {where}quantization: 4bit (QLoRA) trains LoRA adapters; "
                                  "set a 'lora' section")
            out.append(stage)
        return out


def _deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def _first_error(source: str, err: ValidationError, prefix: str = "") -> str:
    errors = err.errors()
    first = errors[0]
    loc = ".".join(str(p) for p in first["loc"] if not str(p).startswith("function-after"))
    msg = first["msg"].removeprefix("Value error, ")
    if first["type"] == "extra_forbidden":
        msg = "unknown field"
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    field = f"{prefix}{loc}: " if loc or prefix else ""
    return f"{source}: {field}{msg}{more}".replace("\n", " ")


def list_presets() -> list[str]:
    return sorted(p.stem for p in PRESET_DIR.glob("*.yaml") if not p.stem.startswith("accelerate"))


def resolve_config_path(config: str) -> Path:
    """A config file path, or the name of a shipped preset (``tiny-cpu``, ``qlora-phi4mini``, ...)."""
    path = Path(config).expanduser()
    if path.is_file():
        return path
    preset = PRESET_DIR / f"{config}.yaml"
    if "/" not in config and preset.is_file():
        return preset
    if path.exists():
        raise ConfigError(f"{config}: not a file")
    raise ConfigError(f"{config}: no such config file or preset (presets: {', '.join(list_presets())})")


def load_config(config: str | Path, *, data: str | None = None, output: str | None = None,
                model: str | None = None) -> FinetuneConfig:
    """Read, override (``--data``/``--output``/``--model``) and validate a config; ConfigError on any problem."""
    path = resolve_config_path(str(config))
    source = str(path) if path.parent != PRESET_DIR else f"preset {path.stem} ({path})"
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(f"{source}: invalid YAML{where}: {problem}") from None
    except OSError as exc:
        raise ConfigError(f"{source}: cannot read: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{source}: not UTF-8 text") from None
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{source}: expected a mapping of settings at the top level, got {type(raw).__name__}")
    raw = dict(raw)
    if data is not None:
        raw["data"] = data
    if output is not None:
        raw["output"] = output
    if model is not None:
        tokenizer = raw.get("tokenizer")
        if isinstance(tokenizer, dict) and tokenizer.get("source") == "train_bpe":
            raw["tokenizer"] = {**tokenizer, "source": "model"}  # a real model keeps its own tokenizer
        raw["model"] = {"path": model}
    if raw.get("model") is None:
        raise ConfigError(f"{source}: model: no base model; set model.path (or model.tiny) or pass --model PATH")
    template = raw.get("chat_template")
    if isinstance(template, str) and template.endswith(".jinja") and not Path(template).is_absolute():
        raw["chat_template"] = str((path.parent / template).resolve())
    try:
        cfg = FinetuneConfig.model_validate(raw)
    except ValidationError as err:
        raise ConfigError(_first_error(source, err)) from None
    cfg._source = source
    cfg.resolved_stages()  # stage-level errors surface now, before any work
    return cfg
