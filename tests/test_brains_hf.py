"""The hf brain on a tiny random Llama built in the test (no downloads): template, generate, adapter, 4-bit.

A random model never emits a tool call by itself, so the deterministic round trip scripts only the sampling
step (``_generate_text``); rendering, tokenisation counts and tool-call parsing are the real code paths.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"

import pytest
import torch
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, ToolMessage
from langchain_core.tools import tool
from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic import Field

from agent.brains import BrainError, load_chat_model
from agent.brains.hf import HFChatModel, messages_to_chat
from agent.brains.tiny import TOOL_TOKENS, build_tiny_model
from agent.brains.toolparse import parse_tool_calls


@tool
def get_interfaces(device: str) -> str:
    """Interface status of one device."""
    return f"{device}: GigabitEthernet0/0 administratively down"


@tool
def ping(device: str, destination: str, count: int = 5) -> str:
    """Ping a destination from a device."""
    return "!!!!!"


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    start = time.perf_counter()
    path = build_tiny_model(tmp_path_factory.mktemp("tiny"))
    assert time.perf_counter() - start < 10
    return path


@pytest.fixture(scope="module")
def brain(tiny_dir: Path) -> HFChatModel:
    model = load_chat_model(f"hf:{tiny_dir},max_new_tokens=8")
    assert isinstance(model, HFChatModel)
    return model


def _conversation() -> list:
    return [
        SystemMessage("You are a network operator."),
        HumanMessage("Why is r1 unreachable?"),
        AIMessage(content="", tool_calls=[{"name": "get_interfaces", "args": {"device": "r1"}, "id": "c1"}]),
        ToolMessage("r1: GigabitEthernet0/0 administratively down", tool_call_id="c1"),
    ]


# ---- the tiny model itself ----------------------------------------------------------------------------


def test_tiny_model_directory(tiny_dir: Path, brain: HFChatModel) -> None:
    for name in ("config.json", "model.safetensors", "tokenizer.json", "generation_config.json"):
        assert (tiny_dir / name).is_file(), name
    tok = brain.tokenizer
    assert tok.chat_template and "generation" in tok.chat_template
    for token in TOOL_TOKENS:  # one token each, and kept when special tokens are skipped
        ids = tok(token, add_special_tokens=False)["input_ids"]
        assert len(ids) == 1, token
        assert tok.decode(ids, skip_special_tokens=True) == token
    assert brain.hf_model.config.num_hidden_layers == 2


def test_assistant_mask_covers_only_assistant_turns(brain: HFChatModel) -> None:
    chat = messages_to_chat([*_conversation(), AIMessage("Gi0/0 is shut down.")])
    enc = brain.tokenizer.apply_chat_template(chat, tools=[convert_to_openai_tool(get_interfaces)],
                                              return_assistant_tokens_mask=True, return_dict=True)
    kept = [i for i, m in zip(enc["input_ids"], enc["assistant_masks"], strict=True) if m]
    assert brain.tokenizer.decode(kept) == (
        '<tool_call>\n{"name": "get_interfaces", "arguments": {"device": "r1"}}\n</tool_call><|im_end|>'
        "Gi0/0 is shut down.<|im_end|>")


# ---- (a) the chat template round trip ----------------------------------------------------------------


def test_render_with_tools_tool_call_and_tool_message(brain: HFChatModel) -> None:
    tools = [convert_to_openai_tool(get_interfaces), convert_to_openai_tool(ping)]
    prompt = brain.render_prompt(_conversation(), tools)
    assert prompt.startswith("<|im_start|>system\nYou are a network operator.\n\n# Tools")
    assert "<tools>\n" + json.dumps(tools[0], ensure_ascii=False) + "\n" + json.dumps(tools[1]) + "\n</tools>" in prompt
    assert prompt.count("<|im_start|>system") == 1
    assert "<|im_start|>user\nWhy is r1 unreachable?<|im_end|>\n" in prompt
    call_text = '<tool_call>\n{"name": "get_interfaces", "arguments": {"device": "r1"}}\n</tool_call>'
    assert f"<|im_start|>assistant\n{call_text}<|im_end|>\n" in prompt
    assert ("<|im_start|>user\n<tool_response>\nr1: GigabitEthernet0/0 administratively down\n"
            "</tool_response><|im_end|>\n") in prompt
    assert prompt.endswith("<|im_start|>assistant\n")
    # What the template writes for a call is exactly what the parser reads back.
    [parsed] = parse_tool_calls(call_text).tool_calls
    assert (parsed["name"], parsed["args"]) == ("get_interfaces", {"device": "r1"})


def test_messages_to_chat_shapes() -> None:
    chat = messages_to_chat([
        AIMessage(content="", tool_calls=[{"name": "ping", "args": {"device": "r1", "destination": "h"}, "id": "x"}],
                  invalid_tool_calls=[{"name": "ping", "args": "{bad", "id": "y", "error": "e",
                                       "type": "invalid_tool_call"}]),
        ToolMessage("ok", tool_call_id="x"),
        HumanMessage([{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]),
    ])
    assert chat[0]["tool_calls"][0] == {"type": "function", "id": "x",
                                        "function": {"name": "ping", "arguments": {"device": "r1", "destination": "h"}}}
    assert chat[0]["tool_calls"][1]["function"] == {"name": "ping", "arguments": "{bad"}
    assert chat[1] == {"role": "tool", "content": "ok", "tool_call_id": "x", "name": "ping"}
    assert chat[2] == {"role": "user", "content": "ab"}


# ---- (b) the real model's generate, end to end ---------------------------------------------------------


def test_bind_tools_invoke_real_generate(brain: HFChatModel) -> None:
    bound = brain.bind_tools([get_interfaces, ping])
    result = bound.invoke(_conversation())
    assert isinstance(result, AIMessage)
    usage = result.usage_metadata
    assert usage is not None
    prompt = brain.render_prompt(_conversation(), [convert_to_openai_tool(get_interfaces), convert_to_openai_tool(ping)])
    assert usage["input_tokens"] == len(brain.tokenizer(prompt, add_special_tokens=False)["input_ids"])
    assert 1 <= usage["output_tokens"] <= 8
    assert usage["total_tokens"] == usage["input_tokens"] + usage["output_tokens"]
    assert result.response_metadata["finish_reason"] in {"stop", "length", "tool_calls"}
    again = bound.invoke(_conversation())  # greedy by default: deterministic
    assert again.response_metadata["raw_text"] == result.response_metadata["raw_text"]


def test_per_call_max_new_tokens(brain: HFChatModel) -> None:
    result = brain.invoke("hello", max_new_tokens=3)
    assert result.usage_metadata is not None
    assert result.usage_metadata["output_tokens"] <= 3
    assert result.tool_calls == []


def test_stop_strings_cut_generation(brain: HFChatModel) -> None:
    baseline = brain.invoke("hello").response_metadata["raw_text"]
    if not baseline:
        pytest.skip("the random model produced no text to stop on")
    stop = baseline[len(baseline) // 2]
    result = brain.invoke("hello", stop=[stop])
    assert stop not in result.response_metadata["raw_text"]
    assert baseline.startswith(result.response_metadata["raw_text"])
    assert result.response_metadata["finish_reason"] == "stop"


# ---- deterministic tool-call round trip: only the sampling step is scripted -----------------------------


class ScriptedHF(HFChatModel):
    """HFChatModel whose sampling returns scripted text; rendering and parsing stay real."""

    script: list[str] = Field(default_factory=list)
    prompts: list[str] = Field(default_factory=list)

    def _generate_text(self, prompt: str, **kwargs: Any) -> tuple[str, int, int, bool]:
        self.prompts.append(prompt)
        text = self.script.pop(0)
        n_in = len(self.tokenizer(prompt, add_special_tokens=False)["input_ids"])
        return text, n_in, len(self.tokenizer(text, add_special_tokens=False)["input_ids"]), False


def _scripted(brain: HFChatModel, *outputs: str) -> ScriptedHF:
    return ScriptedHF(hf_model=brain.hf_model, tokenizer=brain.tokenizer, model_name="scripted",
                      script=list(outputs), prompts=[])


def test_scripted_tool_call_round_trip(brain: HFChatModel) -> None:
    model = _scripted(brain, 'I will check r1.\n<tool_call>\n{"name": "get_interfaces", "arguments": '
                             '{"device": "r1"}}\n</tool_call>',
                      "GigabitEthernet0/0 on r1 is shut down; run `no shutdown` on it.")
    bound = model.bind_tools([get_interfaces])
    history: list = [HumanMessage("Why is r1 unreachable?")]
    first = bound.invoke(history)
    assert first.content == "I will check r1."
    [call] = first.tool_calls
    assert (call["name"], call["args"]) == ("get_interfaces", {"device": "r1"})
    assert first.response_metadata["finish_reason"] == "tool_calls"
    assert first.usage_metadata and first.usage_metadata["output_tokens"] > 0
    history += [first, ToolMessage(get_interfaces.invoke(call["args"]), tool_call_id=call["id"])]
    final = bound.invoke(history)
    assert final.tool_calls == []
    assert "no shutdown" in final.content
    second_prompt = model.prompts[1]
    assert ('<|im_start|>assistant\nI will check r1.\n<tool_call>\n{"name": "get_interfaces", "arguments": '
            '{"device": "r1"}}\n</tool_call><|im_end|>') in second_prompt
    assert "<tool_response>\nr1: GigabitEthernet0/0 administratively down\n</tool_response>" in second_prompt


def test_scripted_malformed_call_never_raises(brain: HFChatModel) -> None:
    model = _scripted(brain, '<tool_call>{"name": "ping", "arguments": {"device": "r1",</tool_call>', "retrying")
    bound = model.bind_tools([ping])
    bad = bound.invoke("ping h2 from r1")
    assert bad.tool_calls == []
    [invalid] = bad.invalid_tool_calls
    assert invalid["name"] == "ping"
    assert "not valid JSON" in invalid["error"]
    # The malformed turn can be fed back with the error so the brain retries.
    retry = bound.invoke([HumanMessage("ping h2 from r1"), bad,
                          ToolMessage(f"error: {invalid['error']}", tool_call_id=invalid["id"], status="error")])
    assert retry.content == "retrying"
    assert '"arguments": {"device": "r1",' in model.prompts[1]


def test_tool_choice_none_hides_tools_and_skips_parsing(brain: HFChatModel) -> None:
    model = _scripted(brain, '{"name": "ping", "arguments": {}}')
    result = model.bind_tools([ping], tool_choice="none").invoke("hi")
    assert "<tools>" not in model.prompts[0]
    assert result.tool_calls == []
    assert result.content == '{"name": "ping", "arguments": {}}'


# ---- (c) a PEFT LoRA adapter made in the test ----------------------------------------------------------


def _logits(model: Any, tokenizer: Any, text: str) -> torch.Tensor:
    ids = tokenizer(text, return_tensors="pt", add_special_tokens=False)
    with torch.no_grad():
        return model(**ids).logits


def test_lora_adapter_is_applied(tiny_dir: Path, brain: HFChatModel, tmp_path: Path) -> None:
    from peft import LoraConfig, PeftModel, get_peft_model
    from transformers import AutoModelForCausalLM

    base = AutoModelForCausalLM.from_pretrained(tiny_dir)
    torch.manual_seed(1)
    # init_lora_weights=False: random B matrices, so the adapter changes the outputs (default init is a no-op).
    lora = get_peft_model(base, LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"],
                                           init_lora_weights=False, task_type="CAUSAL_LM"))
    adapter_dir = tmp_path / "adapter"
    lora.save_pretrained(adapter_dir)

    tuned = load_chat_model(f"hf:{tiny_dir},adapter={adapter_dir},max_new_tokens=4")
    assert isinstance(tuned, HFChatModel)
    assert isinstance(tuned.hf_model, PeftModel)
    assert tuned.adapter == str(adapter_dir)
    text = "show ip ospf neighbor"
    base_logits = _logits(brain.hf_model, brain.tokenizer, text)
    tuned_logits = _logits(tuned.hf_model, tuned.tokenizer, text)
    assert not torch.allclose(base_logits, tuned_logits, atol=1e-4)
    lora.eval()
    assert torch.allclose(tuned_logits, _logits(lora, brain.tokenizer, text), atol=1e-5)
    result = tuned.bind_tools([ping]).invoke("ping h2")
    assert isinstance(result, AIMessage) and result.usage_metadata


# ---- errors --------------------------------------------------------------------------------------------


@pytest.mark.skipif(torch.cuda.is_available(), reason="this checks the CPU-only error")
def test_4bit_on_cpu_is_a_clear_error(tiny_dir: Path) -> None:
    with pytest.raises(BrainError, match=r"4-bit needs CUDA \+ bitsandbytes"):
        load_chat_model(f"hf:{tiny_dir},4bit")


def test_missing_adapter_and_model_dir(tiny_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(BrainError, match="no PEFT adapter"):
        load_chat_model(f"hf:{tiny_dir},adapter={tmp_path}")
    with pytest.raises(BrainError, match="cannot load hf model"):
        load_chat_model(f"hf:{tmp_path / 'nowhere'}")
