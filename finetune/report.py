"""Training reports: figures (JSON), the loss curve (PNG, matplotlib Agg) and the model card (README.md)."""

from __future__ import annotations

import json
import math
import platform
import resource
import sys
import time
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

try:  # transformers is a training dependency; keep this module importable for reading reports without it
    from transformers import TrainerCallback
except ImportError:  # pragma: no cover
    TrainerCallback = object  # type: ignore[assignment,misc]


class StageFigures(BaseModel):
    """What one stage measured. Loss values are per logged step; eval values are (step, value) pairs."""

    stage: str
    method: str
    model: str
    base_model: str
    output: str
    brain_spec: str | None = None
    device: str = "cpu"
    precision: str = "fp32"
    gradient_checkpointing: bool = False
    quantization: str = "none"
    lora: dict[str, Any] | None = None
    target_modules: list[str] | None = None
    target_modules_how: str | None = None
    chat_template: str | None = None
    parameters_total: int = 0
    parameters_trainable: int = 0
    train_rows: int = 0
    eval_rows: int = 0
    steps: list[int] = Field(default_factory=list)
    train_loss: list[float] = Field(default_factory=list)
    eval_steps: list[int] = Field(default_factory=list)
    eval_loss: list[float] = Field(default_factory=list)
    eval_loss_before: float | None = None
    eval_loss_after: float | None = None
    perplexity_before: float | None = None
    perplexity_after: float | None = None
    train_loss_first: float | None = None
    train_loss_last: float | None = None
    extra_metrics: dict[str, float] = Field(default_factory=dict)
    global_steps: int = 0
    epochs: float = 0.0
    tokens_seen: int = 0
    tokens_per_s: float | None = None
    train_wall_s: float = 0.0
    stage_wall_s: float = 0.0
    peak_memory_mb: float | None = None
    peak_memory_kind: str | None = None
    versions: dict[str, str] = Field(default_factory=dict)
    notes: list[str] = Field(default_factory=list)


class LossRecorder(TrainerCallback):  # type: ignore[misc]
    """Collects the trainer's logs (train loss per logging step, eval metrics) and the train wall time."""

    def __init__(self) -> None:
        self.steps: list[int] = []
        self.loss: list[float] = []
        self.eval_steps: list[int] = []
        self.eval_loss: list[float] = []
        self.eval_metrics: list[dict[str, float]] = []
        self.started: float | None = None
        self.wall_s = 0.0

    def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        self.started = time.perf_counter()

    def on_train_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if self.started is not None:
            self.wall_s = time.perf_counter() - self.started

    def on_log(self, args: Any, state: Any, control: Any, logs: dict[str, Any] | None = None,
               **kwargs: Any) -> None:
        logs = logs or {}
        if "loss" in logs and _finite(logs["loss"]):
            self.steps.append(int(state.global_step))
            self.loss.append(float(logs["loss"]))
        if "eval_loss" in logs and _finite(logs["eval_loss"]):
            self.eval_steps.append(int(state.global_step))
            self.eval_loss.append(float(logs["eval_loss"]))
            self.eval_metrics.append({k: float(v) for k, v in logs.items() if isinstance(v, int | float)})


def _finite(value: Any) -> bool:
    try:
        return math.isfinite(float(value))
    except (TypeError, ValueError):
        return False


def peak_memory() -> tuple[float | None, str | None]:
    """(MiB, what was measured): CUDA max allocated where a GPU trained, else this process's peak RSS."""
    try:
        import torch

        if torch.cuda.is_available() and torch.cuda.max_memory_allocated() > 0:
            return torch.cuda.max_memory_allocated() / 2**20, "cuda_max_allocated"
    except ImportError:  # pragma: no cover
        pass
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return (rss / 1024 if sys.platform != "darwin" else rss / 2**20), "process_peak_rss"


def versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for name in ("torch", "transformers", "trl", "peft", "datasets", "accelerate"):
        try:
            module = __import__(name)
            out[name] = str(getattr(module, "__version__", "?"))
        except ImportError:  # pragma: no cover
            continue
    return out


def plot_loss(figures: StageFigures | list[StageFigures], path: Path) -> Path:
    """Loss curve(s): train loss per logged step and eval loss points; one panel per stage."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    stages = figures if isinstance(figures, list) else [figures]
    fig, axes = plt.subplots(1, len(stages), figsize=(5.5 * len(stages), 4), squeeze=False)
    for ax, fig_data in zip(axes[0], stages, strict=True):
        if fig_data.steps:
            ax.plot(fig_data.steps, fig_data.train_loss, label="train loss", color="tab:blue")
        if fig_data.eval_steps:
            ax.plot(fig_data.eval_steps, fig_data.eval_loss, "o--", label="eval loss", color="tab:orange")
        title = f"{fig_data.stage} ({fig_data.method})"
        if fig_data.perplexity_before is not None and fig_data.perplexity_after is not None:
            title += f"\nheld-out ppl {fig_data.perplexity_before:.1f} -> {fig_data.perplexity_after:.1f}"
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("step")
        ax.set_ylabel("loss")
        ax.grid(alpha=0.3)
        if fig_data.steps or fig_data.eval_steps:
            ax.legend()
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def write_figures(figures: StageFigures | list[StageFigures], path: Path, **extra: Any) -> Path:
    data: dict[str, Any]
    if isinstance(figures, list):
        data = {"stages": [f.model_dump(mode="json") for f in figures], **extra}
    else:
        data = {**figures.model_dump(mode="json"), **extra}
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    return path


def _fmt(value: float | None, digits: int = 4) -> str:
    return "n/a" if value is None else f"{value:.{digits}g}"


def model_card(figures: list[StageFigures], *, name: str, config_source: str, description: str,
               brain_spec: str | None, adapter_dir: str | None, base_dir: str | None,
               merged_dir: str | None) -> str:
    """README.md for the run directory: what was trained, on what, how, the figures, how to use it."""
    last = figures[-1]
    peft = adapter_dir is not None
    tags = ["twinops", "network-automation", "tool-calling", "trl", *(f.method for f in figures)]
    if peft:
        tags.append("lora")
    if any(f.quantization == "4bit" for f in figures):
        tags.append("qlora")
    lines = ["---", f"library_name: {'peft' if peft else 'transformers'}"]
    if base_dir:
        lines.append(f"base_model: {base_dir}")
    lines += [f"tags: [{', '.join(dict.fromkeys(tags))}]", "pipeline_tag: text-generation", "---", "",
              f"# {name}", ""]
    if description:
        lines += [description.strip(), ""]
    lines += [f"Trained with `twinops finetune --config {config_source}` "
              f"({' -> '.join(f.method for f in figures)}).", ""]
    lines += ["## Results", "", "| stage | method | steps | train loss first -> last | eval loss before -> after "
              "| held-out ppl before -> after | tokens/s | train wall s | peak MiB |",
              "|---|---|---:|---|---|---|---:|---:|---:|"]
    for f in figures:
        ppl = (f"{_fmt(f.perplexity_before)} -> {_fmt(f.perplexity_after)}"
               if f.perplexity_before is not None else "")
        lines.append(f"| {f.stage} | {f.method} | {f.global_steps} | {_fmt(f.train_loss_first)} -> "
                     f"{_fmt(f.train_loss_last)} | {_fmt(f.eval_loss_before)} -> {_fmt(f.eval_loss_after)} | {ppl} | "
                     f"{_fmt(f.tokens_per_s, 5)} | {f.train_wall_s:.1f} | {_fmt(f.peak_memory_mb, 5)} |")
    lines += ["", "![loss](loss.png)", "", "## Training", ""]
    for f in figures:
        lora = (f"LoRA r={f.lora['r']} alpha={f.lora['alpha']} dropout={f.lora['dropout']} on "
                f"{', '.join(f.target_modules or [])} ({f.target_modules_how})" if f.lora else "full fine-tuning")
        lines += [f"- **{f.stage}** ({f.method}): base `{f.base_model}`; {lora}; quantization {f.quantization}; "
                  f"{f.precision} on {f.device}; gradient checkpointing {'on' if f.gradient_checkpointing else 'off'}; "
                  f"{f.parameters_trainable:,} of {f.parameters_total:,} parameters trained; "
                  f"{f.train_rows} training rows/blocks, {f.eval_rows} held out; chat template "
                  f"{f.chat_template or 'n/a'}."]
        lines += [f"  - note: {n}" for n in f.notes]
    lines += ["", "Versions: " + ", ".join(f"{k} {v}" for k, v in last.versions.items()) + ".", "",
              "## Use", ""]
    if brain_spec:
        lines += ["As the twinops agent's brain:", "", "```bash",
                  f'twinops run "INTENT" --inventory hosts.yaml --brain "{brain_spec}"', "```", ""]
    if peft and base_dir:
        lines += ["With transformers + peft:", "", "```python",
                  "from transformers import AutoModelForCausalLM, AutoTokenizer",
                  "from peft import PeftModel",
                  f'tok = AutoTokenizer.from_pretrained("{base_dir}")',
                  f'model = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained("{base_dir}"), '
                  f'"{adapter_dir}")',
                  "model = model.merge_and_unload()  # optional: plain transformers model",
                  "```", "",
                  "Served by vLLM with the adapter (OpenAI-compatible, Hermes tool-call parser):", "", "```bash",
                  f"vllm serve {base_dir} --enable-lora --lora-modules twinops={adapter_dir} \\",
                  "  --max-lora-rank 64 --enable-auto-tool-choice --tool-call-parser hermes",
                  'twinops run "INTENT" --inventory hosts.yaml --brain "openai:http://127.0.0.1:8000/v1,model=twinops"',
                  "```", ""]
    if merged_dir:
        lines += [f"A merged copy (adapter folded into the base weights) is in `{merged_dir}`.", ""]
    lines += ["## Limitations", "",
              "Trained on agent runs in a digital twin of IOS-style routers; measure it with `twinops eval` on "
              "held-out scenarios before trusting it with a real network, and keep the policy guard and "
              "approvals on.", ""]
    return "\n".join(lines)
