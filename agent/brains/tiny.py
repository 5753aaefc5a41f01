"""A tiny, randomly initialised Llama-architecture chat model with its own tokenizer, built locally.

No weights or tokenizers can be downloaded here, yet the hf brain, fine-tuning and evaluation must run end
to end in tests and demos. This builds a complete ``save_pretrained`` directory in about a second: a
byte-level BPE tokenizer trained on a small in-repo sample, a Hermes/Qwen-style chat template with tools
(``<tool_call>`` JSON) and ``{% generation %}`` markers around assistant turns (so
``return_assistant_tokens_mask=True`` gives an assistant-only loss mask), and a 2-layer Llama.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

# The chat template: ChatML turns, tools rendered Hermes-style in the system turn, tool results grouped in a
# user turn as <tool_response> blocks (the same shape as Qwen2.5's template, so data carries over).
CHAT_TEMPLATE = """\
{%- if tools %}
{{- '<|im_start|>system\\n' }}
{%- if messages[0].role == 'system' %}{{- messages[0].content + '\\n\\n' }}{%- endif %}
{{- '# Tools\\n\\nYou may call one or more functions to assist with the user query.\\n\\n' }}
{{- 'You are provided with function signatures within <tools></tools> XML tags:\\n<tools>' }}
{%- for tool in tools %}{{- '\\n' }}{{- tool | tojson }}{%- endfor %}
{{- '\\n</tools>\\n\\nFor each function call, return a json object with function name and arguments ' }}
{{- 'within <tool_call></tool_call> XML tags:\\n<tool_call>\\n' }}
{{- '{"name": <function-name>, "arguments": <args-json-object>}\\n</tool_call><|im_end|>\\n' }}
{%- elif messages[0].role == 'system' %}
{{- '<|im_start|>system\\n' + messages[0].content + '<|im_end|>\\n' }}
{%- endif %}
{%- for message in messages %}
{%- if message.role == 'system' %}
{%- if not loop.first %}{{- '<|im_start|>system\\n' + message.content + '<|im_end|>\\n' }}{%- endif %}
{%- elif message.role == 'user' %}
{{- '<|im_start|>user\\n' + message.content + '<|im_end|>\\n' }}
{%- elif message.role == 'assistant' %}
{{- '<|im_start|>assistant\\n' }}
{%- generation %}
{%- if message.content %}{{- message.content }}{%- endif %}
{%- for tc in message.tool_calls | default([], true) %}
{%- if tc.function is defined %}{%- set tc = tc.function %}{%- endif %}
{%- if message.content or not loop.first %}{{- '\\n' }}{%- endif %}
{{- '<tool_call>\\n{"name": "' + tc.name + '", "arguments": ' }}
{%- if tc.arguments is string %}{{- tc.arguments }}{%- else %}{{- tc.arguments | tojson }}{%- endif %}
{{- '}\\n</tool_call>' }}
{%- endfor %}
{{- '<|im_end|>' }}
{%- endgeneration %}
{{- '\\n' }}
{%- elif message.role == 'tool' %}
{%- if loop.first or messages[loop.index0 - 1].role != 'tool' %}{{- '<|im_start|>user' }}{%- endif %}
{{- '\\n<tool_response>\\n' + message.content + '\\n</tool_response>' }}
{%- if loop.last or messages[loop.index0 + 1].role != 'tool' %}{{- '<|im_end|>\\n' }}{%- endif %}
{%- endif %}
{%- endfor %}
{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}
"""

SPECIAL_TOKENS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
# Not "special": decoding with skip_special_tokens=True must keep them, or tool calls vanish from the text.
TOOL_TOKENS = ["<tool_call>", "</tool_call>", "<tools>", "</tools>", "<tool_response>", "</tool_response>"]

SAMPLE_TEXT = """\
You are a network operations assistant. Diagnose faults and propose safe configuration changes.
Check the interfaces on r1 and r2. Interface GigabitEthernet0/0 is administratively down.
The OSPF adjacency between r1 and r2 is stuck in EXSTART: the MTU does not match on both ends.
BGP neighbor 10.0.12.2 remote-as 65002 is Idle; the configured remote AS is wrong.
Ping from h1 to 10.0.3.10 fails at r2: an access list denies ICMP on the inbound interface.
interface GigabitEthernet0/1
 ip address 10.0.12.1 255.255.255.252
 no shutdown
router ospf 1
 network 10.0.0.0 0.255.255.255 area 0
 passive-interface default
router bgp 65001
 neighbor 10.0.12.2 remote-as 65002
 network 192.0.2.0 mask 255.255.255.0
ip route 0.0.0.0 0.0.0.0 10.0.12.2
show ip interface brief
show ip route
show ip ospf neighbor
show ip bgp summary
show running-config
{"name": "get_interfaces", "arguments": {"device": "r1"}}
{"name": "ping", "arguments": {"device": "r1", "destination": "10.0.3.10", "count": 5}}
{"name": "apply_change", "arguments": {"changes": {"r2": ["interface Gi0/0", "no shutdown"]}}}
{"type": "function", "function": {"name": "get_routes", "description": "Read the routing table.",
"parameters": {"type": "object", "properties": {"device": {"type": "string"}}, "required": ["device"]}}}
The fault is fixed: the adjacency is FULL and the host is reachable again. The change was verified.
The policy denies this change: it would disable logging on the core router. Approval is required.
"""


def build_tokenizer(corpus: Iterable[str] | None = None, *, vocab_size: int = 512):
    """A byte-level BPE tokenizer (any text encodes, no <unk>) wrapped as a transformers fast tokenizer."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import AddedToken, PreTrainedTokenizerFast

    texts = list(corpus) if corpus is not None else SAMPLE_TEXT.splitlines()
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    alphabet = pre_tokenizers.ByteLevel.alphabet()
    floor = len(alphabet) + len(SPECIAL_TOKENS)
    trainer = trainers.BpeTrainer(vocab_size=max(vocab_size - len(TOOL_TOKENS), floor),
                                  special_tokens=SPECIAL_TOKENS, initial_alphabet=alphabet,
                                  show_progress=False)
    tok.train_from_iterator(texts, trainer=trainer)
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="<|im_end|>", pad_token="<|endoftext|>",
                                   model_max_length=4096, clean_up_tokenization_spaces=False)
    fast.add_tokens([AddedToken(t, special=False, normalized=False) for t in TOOL_TOKENS])
    fast.chat_template = CHAT_TEMPLATE
    return fast


def build_tiny_model(out_dir: str | Path, *, vocab_size: int = 512, hidden_size: int = 64, layers: int = 2,
                     heads: int = 4, seed: int = 0, corpus: Iterable[str] | None = None,
                     max_positions: int = 4096) -> Path:
    """Write a tiny random Llama chat model + tokenizer to ``out_dir`` (``hf:out_dir`` loads it)."""
    import torch
    from transformers import GenerationConfig, LlamaConfig, LlamaForCausalLM

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    tokenizer = build_tokenizer(corpus, vocab_size=vocab_size)
    eos_id = tokenizer.convert_tokens_to_ids("<|im_end|>")
    pad_id = tokenizer.convert_tokens_to_ids("<|endoftext|>")
    config = LlamaConfig(vocab_size=len(tokenizer), hidden_size=hidden_size, intermediate_size=hidden_size * 2,
                         num_hidden_layers=layers, num_attention_heads=heads, num_key_value_heads=heads,
                         max_position_embeddings=max_positions, bos_token_id=pad_id, eos_token_id=eos_id,
                         pad_token_id=pad_id, tie_word_embeddings=True)
    torch.manual_seed(seed)
    model = LlamaForCausalLM(config)
    model.generation_config = GenerationConfig(eos_token_id=eos_id, pad_token_id=pad_id, bos_token_id=pad_id)
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    return out
