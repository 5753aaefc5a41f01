"""Which chat template a run trains with (and saves with the tokenizer, so inference renders the same).

TRL's ``assistant_only_loss`` needs ``{% generation %}`` markers around assistant turns, which few stock
templates have (Qwen2.5, Llama 3 and Phi-4-mini do not). ``auto`` therefore keeps the model's own template
only when it has the markers, and otherwise picks a twinops template whose role markers the tokenizer
already has as single tokens: ChatML (``<|im_start|>``, the Qwen family and the tiny models) or Phi
(``<|assistant|>``/``<|end|>``, Phi-3/Phi-4-mini). Both render tools Hermes-style and tool calls as
``<tool_call>{...}</tool_call>``, which is what the agent's parser reads.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from agent.brains.tiny import CHAT_TEMPLATE as CHATML_TEMPLATE
from finetune.config import PRESET_DIR, ConfigError

PHI4MINI_TEMPLATE_FILE = PRESET_DIR / "templates" / "phi4mini.jinja"
_GENERATION = re.compile(r"\{%-?\s*generation\s*-?%\}")
# name -> (template, end-of-turn marker)
_ROLE_STYLES = {"twinops": ("<|im_start|>", "<|im_end|>"), "phi4mini": ("<|assistant|>", "<|end|>")}


def has_generation_markers(template: str | None) -> bool:
    return bool(template) and bool(_GENERATION.search(template or ""))


def _single_token(tokenizer: Any, text: str) -> bool:
    try:
        ids = tokenizer(text, add_special_tokens=False)["input_ids"]
    except Exception:  # pragma: no cover - exotic tokenizers
        return False
    return len(ids) == 1


def _builtin_label(template: str) -> str | None:
    return next((name for name in _ROLE_STYLES if builtin_template(name) == template), None)


def builtin_template(name: str) -> str:
    if name == "twinops":
        return CHATML_TEMPLATE
    if name == "phi4mini":
        return PHI4MINI_TEMPLATE_FILE.read_text(encoding="utf-8")
    raise KeyError(name)


def resolve_chat_template(setting: str, tokenizer: Any, *, need_generation: bool,
                          source: str = "<config>") -> tuple[str, str, str | None]:
    """(template text, a label for reports, end-of-turn token or None). Raises ConfigError."""
    own = getattr(tokenizer, "chat_template", None)
    own = own if isinstance(own, str) else None
    if setting == "model":
        if not own:
            raise ConfigError(f"{source}: chat_template: model: the tokenizer has no chat template")
        template, label = own, "model"
    elif setting in _ROLE_STYLES:
        template, label = builtin_template(setting), setting
    elif setting == "auto":
        if own and has_generation_markers(own):
            template, label = own, _builtin_label(own) or "model"
        else:
            # The role markers the model already knows from its own template come first.
            styles = sorted(_ROLE_STYLES.items(), key=lambda item: item[1][0] not in (own or ""))
            for name, (start, end) in styles:
                if _single_token(tokenizer, start) and _single_token(tokenizer, end):
                    template, label = builtin_template(name), name
                    break
            else:
                if need_generation or not own:
                    raise ConfigError(
                        f"{source}: chat_template: auto: the model's template has no {{% generation %}} markers "
                        "(needed for assistant-only loss) and its tokenizer has neither ChatML nor Phi role "
                        "tokens; set chat_template to a .jinja file with {% generation %} markers, or "
                        "sft.assistant_only_loss: false")
                template, label = own, "model"
    else:
        path = Path(setting).expanduser()
        if not path.is_file():
            raise ConfigError(f"{source}: chat_template: {setting!r} is not auto | model | twinops | phi4mini "
                              "or an existing .jinja file")
        template, label = path.read_text(encoding="utf-8"), str(path)
    if need_generation and not has_generation_markers(template):
        raise ConfigError(f"{source}: chat_template ({label}) has no {{% generation %}} markers, which "
                          "assistant-only loss needs; use chat_template: auto/twinops/phi4mini or a template "
                          "with the markers, or set sft.assistant_only_loss: false")
    end = next((e for n, (_, e) in _ROLE_STYLES.items() if label == n), None)
    if end is None:
        end = next((e for _, e in _ROLE_STYLES.values() if e in template), None)
    return template, label, end
