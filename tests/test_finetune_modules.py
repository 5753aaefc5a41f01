"""LoRA target modules chosen per architecture by inspecting module names, and chat-template selection."""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")

import pytest
import torch
from peft import get_peft_model

from finetune.config import ConfigError, LoraSpec
from finetune.modeling import lora_config, select_target_modules
from finetune.templates import has_generation_markers, resolve_chat_template

SMALL = {"vocab_size": 64, "hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2,
         "num_attention_heads": 4, "num_key_value_heads": 2, "pad_token_id": 0, "bos_token_id": 1,
         "eos_token_id": 2}


def _llama():
    from transformers import LlamaConfig, LlamaForCausalLM

    return LlamaForCausalLM(LlamaConfig(**SMALL))


def _qwen2():
    from transformers import Qwen2Config, Qwen2ForCausalLM

    return Qwen2ForCausalLM(Qwen2Config(**SMALL))


def _phi3():
    from transformers import Phi3Config, Phi3ForCausalLM

    return Phi3ForCausalLM(Phi3Config(**SMALL))


def _gpt2():
    from transformers import GPT2Config, GPT2LMHeadModel

    return GPT2LMHeadModel(GPT2Config(vocab_size=64, n_embd=32, n_layer=2, n_head=4, n_positions=64,
                                      bos_token_id=1, eos_token_id=2))


@pytest.mark.parametrize(("build", "expected", "family"), [
    (_llama, ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"], "llama"),
    (_qwen2, ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"], "qwen"),
    (_phi3, ["qkv_proj", "o_proj", "gate_up_proj", "down_proj"], "phi3"),
    (_gpt2, ["c_attn", "c_proj", "c_fc"], "gpt2"),
])
def test_auto_targets_per_architecture(build, expected: list[str], family: str) -> None:
    torch.manual_seed(0)
    model = build()
    targets, how = select_target_modules(model)
    assert targets == expected and family in how
    assert "lm_head" not in targets
    cfg, chosen, _ = lora_config(LoraSpec(r=4, alpha=8), model)
    peft_model = get_peft_model(model, cfg)
    adapted = {name.rsplit(".", 1)[-1] for name, mod in peft_model.named_modules() if hasattr(mod, "lora_A")}
    assert adapted == set(chosen)
    trainable = sum(p.numel() for p in peft_model.parameters() if p.requires_grad)
    assert 0 < trainable < sum(p.numel() for p in peft_model.parameters())
    ids = torch.tensor([[1, 5, 7, 9]])
    assert peft_model(input_ids=ids).logits.shape == (1, 4, 64)


def test_phi3_never_gets_unfused_names() -> None:
    targets, _ = select_target_modules(_phi3())
    assert not {"q_proj", "k_proj", "v_proj", "gate_proj", "up_proj"} & set(targets)


def test_unknown_architecture_gets_every_block_linear_but_the_head() -> None:
    class Block(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.wq = torch.nn.Linear(8, 8)
            self.mix = torch.nn.Linear(8, 8)
            self.gate = torch.nn.Linear(8, 2)  # an MoE router: never adapted

    class Odd(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.blocks = torch.nn.ModuleList([Block(), Block()])
            self.head = torch.nn.Linear(8, 16)

        def get_output_embeddings(self) -> torch.nn.Module:
            return self.head

    targets, how = select_target_modules(Odd())
    assert targets == ["mix", "wq"] and "generic" in how


def test_explicit_targets_are_checked_against_the_model() -> None:
    with pytest.raises(ConfigError, match="q_proj"):
        lora_config(LoraSpec(target_modules=["q_proj", "v_proj"]), _phi3())
    _, targets, how = lora_config(LoraSpec(target_modules=["qkv_proj"]), _phi3())
    assert targets == ["qkv_proj"] and how == "config"


# ---- chat templates -----------------------------------------------------------------------------------


def _phi_style_tokenizer():
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    special = ["<|endoftext|>", "<|system|>", "<|user|>", "<|assistant|>", "<|end|>"]
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.train_from_iterator(["interface GigabitEthernet0/1 is down", "no shutdown"],
                            trainer=trainers.BpeTrainer(vocab_size=300, special_tokens=special,
                                                        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                                        show_progress=False))
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="<|endoftext|>", pad_token="<|endoftext|>")
    fast.chat_template = "{% for m in messages %}<|{{ m.role }}|>{{ m.content }}<|end|>{% endfor %}"
    return fast


CONVERSATION = [
    {"role": "system", "content": "Be careful."},
    {"role": "user", "content": "Fix R1."},
    {"role": "assistant", "content": "", "tool_calls": [
        {"id": "call_1", "type": "function", "function": {"name": "get_interfaces", "arguments": '{"device": "R1"}'}}]},
    {"role": "tool", "tool_call_id": "call_1", "name": "get_interfaces", "content": "Gi0/1 down"},
    {"role": "assistant", "content": "Gi0/1 on R1 is down."},
]
TOOLS = [{"type": "function", "function": {"name": "get_interfaces", "description": "d",
                                           "parameters": {"type": "object", "properties": {}}}}]


def test_auto_picks_the_phi_template_for_a_phi_tokenizer_without_generation_markers() -> None:
    tok = _phi_style_tokenizer()
    assert not has_generation_markers(tok.chat_template)
    template, label, end = resolve_chat_template("auto", tok, need_generation=True)
    assert label == "phi4mini" and end == "<|end|>" and has_generation_markers(template)
    tok.chat_template = template
    out = tok.apply_chat_template(CONVERSATION, tools=TOOLS, tokenize=True, return_dict=True,
                                  return_assistant_tokens_mask=True)
    ids, mask = out["input_ids"], out["assistant_masks"]
    trained = tok.decode([i for i, m in zip(ids, mask, strict=True) if m])
    assert '<tool_call>\n{"name": "get_interfaces", "arguments": {"device": "R1"}}\n</tool_call><|end|>' in trained
    assert "Gi0/1 on R1 is down.<|end|>" in trained
    assert "Fix R1" not in trained and "Be careful" not in trained and "Gi0/1 down" not in trained
    text = tok.apply_chat_template(CONVERSATION[:2], tools=TOOLS, tokenize=False, add_generation_prompt=True)
    assert text.startswith("<|system|>Be careful.") and text.endswith("<|user|>Fix R1.<|end|><|assistant|>")


def test_model_template_without_markers_is_refused_for_assistant_only_loss() -> None:
    with pytest.raises(ConfigError, match="generation"):
        resolve_chat_template("model", _phi_style_tokenizer(), need_generation=True)
    _, label, _ = resolve_chat_template("model", _phi_style_tokenizer(), need_generation=False)
    assert label == "model"


def test_twinops_template_is_chatml_with_markers() -> None:
    from agent.brains.tiny import build_tokenizer

    tok = build_tokenizer()
    template, label, end = resolve_chat_template("auto", tok, need_generation=True)
    assert label == "twinops" and end == "<|im_end|>" and "<|im_start|>" in template
