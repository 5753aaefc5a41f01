"""``hf:PATH`` brain: a local transformers causal LM as a LangChain chat model with tool calling.

The agent talks to every brain through LangChain's chat-model interface, so a fine-tuned local model is
a drop-in replacement for the expert or a served endpoint. Messages are rendered with the model's own chat
template (tools included), so what the model sees at inference matches what fine-tuning trained on; tool
calls are parsed out of the generated text by :mod:`agent.brains.toolparse`, which never raises.
With tools bound, decoding can be constrained to well-formed calls on observed values
(:mod:`agent.brains.constrained`, xgrammar; spec option ``constrained=on|off|auto``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.messages import (
    AIMessage,
    BaseMessage,
    ChatMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
)
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.runnables import Runnable
from langchain_core.tools import BaseTool
from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic import ConfigDict, Field, PrivateAttr

from agent.brains.spec import BrainError, BrainSpec, parse_brain_spec
from agent.brains.toolparse import parse_tool_calls

if TYPE_CHECKING:
    import torch

DEFAULT_MAX_NEW_TOKENS = 512


def _text(content: Any) -> str:
    """Message content as plain text (LangChain allows a list of content blocks)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = [b if isinstance(b, str) else b.get("text", "") for b in content
                 if isinstance(b, str) or (isinstance(b, dict) and b.get("type") == "text")]
        return "".join(parts)
    return "" if content is None else str(content)


def messages_to_chat(messages: Sequence[BaseMessage]) -> list[dict[str, Any]]:
    """LangChain messages -> the ``[{"role", "content", ...}]`` list HF chat templates expect.

    Assistant tool calls take the OpenAI/HF shape ``{"type": "function", "id", "function": {"name",
    "arguments": dict}}`` (templates ``tojson`` the arguments); tool results become ``role: tool`` with
    ``tool_call_id`` and ``name``.
    """
    names_by_id: dict[str, str] = {}
    chat: list[dict[str, Any]] = []
    for msg in messages:
        if isinstance(msg, SystemMessage):
            chat.append({"role": "system", "content": _text(msg.content)})
        elif isinstance(msg, HumanMessage):
            chat.append({"role": "user", "content": _text(msg.content)})
        elif isinstance(msg, AIMessage):
            entry: dict[str, Any] = {"role": "assistant", "content": _text(msg.content)}
            calls = [{"type": "function", "id": tc.get("id"),
                      "function": {"name": tc["name"], "arguments": tc.get("args") or {}}}
                     for tc in msg.tool_calls]
            # A malformed call the model made is still part of the history it must see and correct.
            calls += [{"type": "function", "id": bad.get("id"),
                       "function": {"name": bad.get("name") or "", "arguments": bad.get("args") or "{}"}}
                      for bad in msg.invalid_tool_calls]
            for call in calls:
                if call["id"]:
                    names_by_id[call["id"]] = call["function"]["name"]
            if calls:
                entry["tool_calls"] = calls
            chat.append(entry)
        elif isinstance(msg, ToolMessage):
            content = msg.content if isinstance(msg.content, str) else json.dumps(msg.content)
            chat.append({"role": "tool", "content": content, "tool_call_id": msg.tool_call_id,
                         "name": msg.name or names_by_id.get(msg.tool_call_id, "")})
        elif isinstance(msg, ChatMessage):
            chat.append({"role": msg.role, "content": _text(msg.content)})
        else:
            raise BrainError(f"hf brain cannot render a {type(msg).__name__}")
    return chat


class HFChatModel(BaseChatModel):
    """A local transformers causal LM with tool calling. Build with :meth:`from_pretrained`.

    Greedy decoding unless ``temperature > 0``. ``invoke(..., max_new_tokens=N)`` overrides per call.
    ``tool_choice="none"`` hides the tools from the prompt.

    ``constrained``: True decodes every reply with tools bound as 1..8 ``<tool_call>`` blocks whose name is
    a bound tool and whose device/interface/address arguments are values seen so far (see
    :mod:`agent.brains.constrained`; BrainError when xgrammar is missing); False decodes freely (a model may
    answer without a call); None (the default, "auto") is True when xgrammar is importable, else False.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    hf_model: Any = Field(exclude=True, repr=False)
    tokenizer: Any = Field(exclude=True, repr=False)
    model_name: str = "hf"
    adapter: str | None = None
    max_new_tokens: int = DEFAULT_MAX_NEW_TOKENS
    temperature: float = 0.0
    top_p: float | None = None
    constrained: bool | None = None
    constraint_limits: Any = None  # agent.brains.constrained.Limits; None: its defaults
    view: Any = None  # agent.brains.compact.ViewSpec when the model was trained on the compact view
    _grammars: Any = PrivateAttr(default=None)

    @property
    def _llm_type(self) -> str:
        return "twinops-hf"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"model_name": self.model_name, "adapter": self.adapter, "max_new_tokens": self.max_new_tokens,
                "temperature": self.temperature, "constrained": self.constrained}

    # ---- construction -------------------------------------------------------------------------------

    @classmethod
    def from_spec(cls, spec: str | BrainSpec, **overrides: Any) -> HFChatModel:
        parsed = parse_brain_spec(spec)
        if parsed.kind != "hf" or not parsed.target:
            raise BrainError(f"not an hf brain spec: {parsed}")
        kwargs: dict[str, Any] = {"adapter": parsed.adapter, "load_in_4bit": parsed.load_in_4bit,
                                  "device": parsed.device}
        if parsed.max_new_tokens is not None:
            kwargs["max_new_tokens"] = parsed.max_new_tokens
        if parsed.temperature is not None:
            kwargs["temperature"] = parsed.temperature
        if parsed.constrained is not None:
            kwargs["constrained"] = parsed.constrained
        kwargs.update(overrides)
        return cls.from_pretrained(parsed.target, **kwargs)

    @classmethod
    def from_pretrained(cls, path: str | Path, *, adapter: str | Path | None = None, load_in_4bit: bool = False,
                        device: str | None = None, **fields: Any) -> HFChatModel:
        """Load model + tokenizer from a local dir (or hub id), optionally a PEFT adapter and 4-bit NF4."""
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        local = Path(path).expanduser()
        source = str(local) if local.exists() else str(path)
        quant = _nf4_config() if load_in_4bit else None  # fails fast, before any weights load
        if fields.get("constrained"):
            _require_xgrammar()
        cuda = torch.cuda.is_available()
        target = device or ("cuda" if cuda else "cpu")
        load_kwargs: dict[str, Any] = {"local_files_only": local.exists()}
        try:
            tokenizer = AutoTokenizer.from_pretrained(source, **load_kwargs)
            if quant is not None:
                model = AutoModelForCausalLM.from_pretrained(source, quantization_config=quant,
                                                             device_map={"": 0}, **load_kwargs)
            else:
                dtype = torch.bfloat16 if target.startswith("cuda") else torch.float32
                model = AutoModelForCausalLM.from_pretrained(source, dtype=dtype, **load_kwargs).to(target)
        except (OSError, ValueError) as exc:  # missing/partial dir, unknown architecture
            raise BrainError(f"cannot load hf model from {str(path)!r}: {exc}") from exc
        if adapter is not None:
            model = _with_adapter(model, adapter)
        model.eval()
        if tokenizer.chat_template is None:
            raise BrainError(f"the tokenizer at {str(path)!r} has no chat template; the hf brain needs one")
        if "view" not in fields:
            fields["view"] = trained_view(adapter, local)
        return cls(hf_model=model, tokenizer=tokenizer, model_name=str(path),
                   adapter=str(adapter) if adapter is not None else None, **fields)

    # ---- tools --------------------------------------------------------------------------------------

    def bind_tools(self, tools: Sequence[dict[str, Any] | type | Callable[..., Any] | BaseTool], *,
                   tool_choice: str | dict[str, Any] | bool | None = None,
                   **kwargs: Any) -> Runnable[LanguageModelInput, AIMessage]:
        """Bind tools (converted to the OpenAI function schema the chat template renders)."""
        formatted = [convert_to_openai_tool(t) for t in tools]
        if tool_choice is not None:
            kwargs["tool_choice"] = tool_choice
        return super().bind(tools=formatted, **kwargs)

    # ---- generation ---------------------------------------------------------------------------------

    def render_prompt(self, messages: Sequence[BaseMessage], tools: list[dict[str, Any]] | None = None) -> str:
        """The exact prompt text the model sees: chat template with tools and a generation prompt (or, for
        a model trained on the compact view, that view of the run: see :mod:`agent.brains.compact`)."""
        chat = messages_to_chat(messages)
        if self.view is not None:
            from agent.brains.compact import compact_view

            chat, tools = compact_view(chat, tools or [], self.view), None
        try:
            return self.tokenizer.apply_chat_template(chat, tools=tools or None,
                                                      add_generation_prompt=True, tokenize=False)
        except Exception as exc:  # jinja errors from a model's own template
            raise BrainError(f"chat template of {self.model_name!r} failed: {exc}") from exc

    # ---- constrained decoding (agent.brains.constrained) -----------------------------------------------

    def constraint_active(self) -> bool:
        """Whether replies with tools bound are constrained (resolves ``constrained=None`` = auto)."""
        if self.constrained is False:
            return False
        from agent.brains.constrained import xgrammar_available

        if self.constrained is None:
            return xgrammar_available()
        _require_xgrammar()
        return True

    def grammar_cache(self) -> Any:
        """This model's :class:`~agent.brains.constrained.GrammarCache` (built on first use)."""
        if self._grammars is None:
            from agent.brains.constrained import GrammarCache

            out = self.hf_model.get_output_embeddings() if hasattr(self.hf_model, "get_output_embeddings") else None
            size = int(out.weight.shape[0]) if out is not None and hasattr(out, "weight") else None
            self._grammars = GrammarCache(self.tokenizer, vocab_size=size, stop_token_ids=self._eos_ids())
        return self._grammars

    def _eos_ids(self) -> set[int]:
        eos = self.hf_model.generation_config.eos_token_id
        eos = eos if eos is not None else self.tokenizer.eos_token_id
        return set(eos if isinstance(eos, list) else [eos] if eos is not None else [])

    def _generate_text(self, prompt: str, *, max_new_tokens: int, temperature: float,
                       stop: list[str] | None, constraint: Any = None) -> tuple[str, int, int, bool]:
        """Run the model on ``prompt``: (new text, input tokens, output tokens, hit the length limit).

        The only step that touches the network's weights; tests may replace it to script the output
        (an override should take ``**kwargs``: ``constraint`` is passed when decoding is constrained).
        """
        import torch

        enc = self.tokenizer(prompt, return_tensors="pt", add_special_tokens=False)
        device = _model_device(self.hf_model)
        input_ids = enc["input_ids"].to(device)
        attention = enc["attention_mask"].to(device)
        eos_ids = self._eos_ids()
        pad = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else next(iter(eos_ids), 0)
        kwargs: dict[str, Any] = {"max_new_tokens": max_new_tokens, "pad_token_id": pad}
        if temperature > 0:
            kwargs.update(do_sample=True, temperature=temperature, top_p=self.top_p or 1.0, top_k=0)
        else:  # greedy; neutralise sampling knobs a model's generation_config may carry
            kwargs.update(do_sample=False, temperature=None, top_p=None, top_k=None)
        if stop:
            kwargs["stopping_criteria"] = _stop_criteria(self.tokenizer, stop, int(input_ids.shape[1]))
        if constraint is not None:
            from transformers import LogitsProcessorList

            kwargs["logits_processor"] = LogitsProcessorList([self.grammar_cache().logits_processor(constraint)])
        with torch.inference_mode():
            out = self.hf_model.generate(input_ids=input_ids, attention_mask=attention, **kwargs)
        new = out[0, input_ids.shape[1]:].tolist()
        n_out = len(new)
        hit_length = n_out >= max_new_tokens and not (new and new[-1] in eos_ids)
        drop = eos_ids | {pad}
        text = self.tokenizer.decode([t for t in new if t not in drop], skip_special_tokens=False)
        return text, int(input_ids.shape[1]), n_out, hit_length

    def _generate(self, messages: list[BaseMessage], stop: list[str] | None = None,
                  run_manager: CallbackManagerForLLMRun | None = None, **kwargs: Any) -> ChatResult:
        tools = kwargs.get("tools")
        if kwargs.get("tool_choice") == "none":
            tools = None
        prompt = self.render_prompt(messages, tools)
        extra: dict[str, Any] = {}
        if tools and self.constraint_active() and _takes_constraint(self._generate_text):
            from agent.brains.constrained import build_constraint

            limits = {"limits": self.constraint_limits} if self.constraint_limits is not None else {}
            if self.view is not None and not limits:
                from agent.brains.constrained import Limits

                limits = {"limits": Limits(max_calls=self.view.max_calls)}
            extra["constraint"] = build_constraint(tools, messages, **limits)
        max_new = int(kwargs.get("max_new_tokens") or self.max_new_tokens)
        if extra:
            max_new = max(max_new, extra["constraint"].min_new_tokens)
        text, n_in, n_out, hit_length = self._generate_text(
            prompt, max_new_tokens=max_new,
            temperature=float(kwargs.get("temperature", self.temperature) or 0.0), stop=stop, **extra)
        if stop:
            cut = min((i for i in (text.find(s) for s in stop) if i >= 0), default=-1)
            if cut >= 0:
                text, hit_length = text[:cut], False
        parsed = parse_tool_calls(text) if tools else None
        finish = "length" if hit_length else "stop"
        if parsed is not None and parsed.tool_calls:
            finish = "tool_calls"
        message = AIMessage(
            content=parsed.content if parsed is not None else text.strip(),
            tool_calls=parsed.tool_calls if parsed is not None else [],
            invalid_tool_calls=parsed.invalid_tool_calls if parsed is not None else [],
            usage_metadata={"input_tokens": n_in, "output_tokens": n_out, "total_tokens": n_in + n_out},
            response_metadata={"model_name": self.model_name, "finish_reason": finish, "raw_text": text,
                               "constrained": bool(extra)},
        )
        return ChatResult(generations=[ChatGeneration(message=message)])


def trained_view(adapter: str | Path | None, model_dir: Path) -> Any:
    """The compact view a model (or its adapter) was trained on, from its ``twinops_view.json``."""
    from agent.brains.compact import read_view

    for folder in ([Path(adapter)] if adapter is not None else []) + [model_dir]:
        try:
            view = read_view(folder)
        except ValueError as exc:
            raise BrainError(f"{folder}: bad twinops_view.json: {exc}") from exc
        if view is not None:
            return view
    return None


def _model_device(model: Any) -> torch.device:
    import torch

    try:
        return next(model.parameters()).device
    except StopIteration:  # pragma: no cover - a model without parameters
        return torch.device("cpu")


def _stop_criteria(tokenizer: Any, stop: list[str], prompt_len: int) -> Any:
    """Stop once the *generated* text contains a stop string.

    transformers' own ``stop_strings`` also matches across the prompt's tail (a prompt ending in a newline
    plus one generated newline "contains" ``"\\n\\n"``), which would end generation early.
    """
    import torch
    from transformers import StoppingCriteria, StoppingCriteriaList

    class _Stop(StoppingCriteria):
        def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor, **kwargs: Any) -> torch.BoolTensor:
            done = [any(s in tokenizer.decode(row[prompt_len:], skip_special_tokens=True) for s in stop)
                    for row in input_ids]
            return torch.tensor(done, dtype=torch.bool, device=input_ids.device)

    return StoppingCriteriaList([_Stop()])


def _takes_constraint(fn: Callable[..., Any]) -> bool:
    """False for a ``_generate_text`` override (a scripted test model) that cannot take ``constraint``."""
    import inspect

    params = inspect.signature(fn).parameters.values()
    return any(p.name == "constraint" or p.kind is inspect.Parameter.VAR_KEYWORD for p in params)


def _require_xgrammar() -> None:
    from agent.brains.constrained import XGRAMMAR_HINT, xgrammar_available

    if not xgrammar_available():
        raise BrainError(f"{XGRAMMAR_HINT}; or use 'constrained=off'")


def _nf4_config() -> Any:
    """BitsAndBytes 4-bit NF4 (bf16 compute, double quant) — the QLoRA setting; CUDA only."""
    import torch

    if not torch.cuda.is_available():
        raise BrainError("4-bit needs CUDA + bitsandbytes: no CUDA device here; drop ',4bit' to load the "
                         "model in full precision on CPU")
    try:
        import bitsandbytes  # noqa: F401
    except ImportError:
        raise BrainError("4-bit needs CUDA + bitsandbytes: bitsandbytes is not installed "
                         "(pip install bitsandbytes)") from None
    from transformers import BitsAndBytesConfig

    return BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_compute_dtype=torch.bfloat16,
                              bnb_4bit_use_double_quant=True)


def _with_adapter(model: Any, adapter: str | Path) -> Any:
    try:
        from peft import PeftModel
    except ImportError:
        raise BrainError("a PEFT adapter needs the 'peft' package (pip install peft)") from None
    path = Path(adapter).expanduser()
    if not (path / "adapter_config.json").is_file():
        raise BrainError(f"no PEFT adapter at {str(adapter)!r} (adapter_config.json missing)")
    return PeftModel.from_pretrained(model, str(path), is_trainable=False)
