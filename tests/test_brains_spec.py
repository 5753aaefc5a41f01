"""Brain spec strings: parsing, canonical round trip, readable errors, the expert hook."""

from __future__ import annotations

import sys
import types

import pytest

from agent.brains import BrainError, BrainSpec, BrainSpecError, load_chat_model, parse_brain_spec


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("expert", {"kind": "expert"}),
        ("  EXPERT ", {"kind": "expert"}),
        ("hf:/models/tiny", {"kind": "hf", "target": "/models/tiny"}),
        ("hf:./m,adapter=./lora,4bit", {"kind": "hf", "target": "./m", "adapter": "./lora", "load_in_4bit": True}),
        ("hf:m, 4bit , max_new_tokens=64,temperature=0.7",
         {"kind": "hf", "target": "m", "load_in_4bit": True, "max_new_tokens": 64, "temperature": 0.7}),
        ("openai:http://127.0.0.1:8000/v1", {"kind": "openai", "target": "http://127.0.0.1:8000/v1"}),
        ("openai:https://h/v1,model=twinops-lora,api_key_env=VLLM_KEY,temperature=0",
         {"kind": "openai", "target": "https://h/v1", "model": "twinops-lora", "api_key_env": "VLLM_KEY",
          "temperature": 0.0}),
        ("openai:http://h:11434,timeout=5,max_retries=0",
         {"kind": "openai", "target": "http://h:11434", "timeout": 5.0, "max_retries": 0}),
    ],
)
def test_good_specs(text: str, expected: dict) -> None:
    spec = parse_brain_spec(text)
    for key, value in expected.items():
        assert getattr(spec, key) == value, key
    assert parse_brain_spec(str(spec)) == spec  # canonical form round-trips
    assert BrainSpec.parse(spec) is spec


def test_canonical_string() -> None:
    assert str(parse_brain_spec("hf:m,4bit,adapter=a")) == "hf:m,adapter=a,4bit"
    assert str(parse_brain_spec("openai:http://h/v1,model=x")) == "openai:http://h/v1,model=x"
    assert str(parse_brain_spec("expert")) == "expert"


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "empty brain spec"),
        ("gpt4", "unknown brain kind 'gpt4'"),
        ("llama:foo", "unknown brain kind 'llama'"),
        ("hf", "'hf' needs a PATH"),
        ("hf:", "missing model path"),
        ("hf:,adapter=x", "missing model path"),
        ("hf:m,adapter", "option 'adapter' needs a value"),
        ("hf:m,adapter=", "option 'adapter' needs a value"),
        ("hf:m,4bit=yes", "'4bit' is a flag"),
        ("hf:m,8bit", "unknown option '8bit' for 'hf'"),
        ("hf:m,model=x", "unknown option 'model' for 'hf'"),
        ("hf:m,adapter=a,adapter=b", "given twice"),
        ("hf:m,,4bit", "empty option"),
        ("hf:m,max_new_tokens=0", "must be >= 1"),
        ("hf:m,max_new_tokens=lots", "needs an integer"),
        ("hf:adapter=x", "must start with the path/URL"),
        ("openai:localhost:8000", "must start with http:// or https://"),
        ("openai:http://h/v1,temperature=hot", "needs a number"),
        ("openai:http://h/v1,temperature=-1", "finite number >= 0"),
        ("openai:http://h/v1,api_key_env=not a var", "environment variable name"),
        ("openai:http://h/v1,adapter=x", "unknown option 'adapter' for 'openai'"),
        ("expert:fast", "'expert' takes no options"),
    ],
)
def test_bad_specs_have_one_line_messages(text: str, fragment: str) -> None:
    with pytest.raises(BrainSpecError) as info:
        parse_brain_spec(text)
    message = str(info.value)
    assert fragment in message
    assert "\n" not in message


def test_bad_spec_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="unknown brain kind"):
        load_chat_model("nope:1")


def test_expert_hook_without_module(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "agent.brains.expert", None)  # as if expert.py did not exist
    with pytest.raises(BrainError, match="'expert' brain is not available"):
        load_chat_model("expert")


def test_expert_hook_uses_expert_brain(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = types.ModuleType("agent.brains.expert")

    class ExpertBrain:
        def __init__(self, **kwargs: object) -> None:
            self.kwargs = kwargs

    fake.ExpertBrain = ExpertBrain  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "agent.brains.expert", fake)
    brain = load_chat_model("expert", seed=3)
    assert isinstance(brain, ExpertBrain)
    assert brain.kwargs == {"seed": 3}

    class WithFromSpec(ExpertBrain):
        @classmethod
        def from_spec(cls, spec: BrainSpec, **kwargs: object) -> WithFromSpec:
            made = cls(**kwargs)
            made.spec = spec  # type: ignore[attr-defined]
            return made

    fake.ExpertBrain = WithFromSpec  # type: ignore[attr-defined]
    brain = load_chat_model("expert")
    assert brain.spec == BrainSpec(kind="expert")  # type: ignore[attr-defined]


def test_spec_module_is_import_light() -> None:
    import subprocess

    code = ("import sys, agent.brains.spec, agent.brains; "
            "heavy = [m for m in ('torch', 'transformers', 'langchain_openai', 'agent.brains.expert') "
            "if m in sys.modules]; print(heavy); sys.exit(1 if heavy else 0)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
