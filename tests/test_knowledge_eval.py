"""eval-knowledge end to end: brains and judges served by a small OpenAI-compatible server on 127.0.0.1, and
a tiny hf model (base and LoRA adapter) built in the test. Nothing is downloaded."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"

import pytest
from cli_support import cli_app
from openai_stub import OpenAIStub, completion, serving
from typer.testing import CliRunner

from finetune.knowledge.cli import register_knowledge
from finetune.knowledge.judge import Judge, load_rubric, parse_judgement
from finetune.knowledge.stats import wilson_interval

EXAMPLES = Path(__file__).resolve().parents[1] / "finetune" / "knowledge" / "examples"
CRITERIA = ["instruction_following", "correctness", "completeness", "safety"]

Script = Callable[[dict[str, Any]], str]


class _Server(OpenAIStub):
    scripts: dict[str, Script]  # model name -> the reply text


def _scripted(server: _Server, request: dict[str, Any]) -> dict[str, Any]:
    body = request["body"]
    content = server.scripts[body["model"]](body)
    return completion(body, {"role": "assistant", "content": content}, id=f"chatcmpl-{len(server.requests)}")


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[_Server]:
    srv = _Server(lambda request: _scripted(srv, request))
    srv.scripts = {}
    with serving(srv, monkeypatch):
        yield srv


def _spec(server: _Server, model: str) -> str:
    return f"openai:{server.url}/v1,model={model},max_retries=0,timeout=10"


def _user_text(body: dict[str, Any]) -> str:
    return next(m["content"] for m in body["messages"] if m["role"] == "user")


# ---- multiple choice -----------------------------------------------------------------------------------

# (question, options, gold index, the brain's reply, counted correct?)
MCQ = [
    ("q1 Which port does BGP use?", ["TCP 179", "UDP 179", "TCP 646"], 0, "1", True),
    ("q2 Default OSPF hello on Ethernet?", ["5 s", "10 s", "30 s"], 1, "Option 2: 10 s", True),
    ("q3 LSA type of ABR summaries?", ["Type 1", "Type 2", "Type 3", "Type 5"], 2, "(c)", True),
    ("q4 Which NF handles mobility?", ["SMF", "UPF", "AMF"], 2, "The answer is C.", True),
    ("q5 Which RFC is OSPFv2?", ["RFC 4271", "RFC 2328", "RFC 791"], 1, "Answer: RFC 2328", True),
    ("q6 Implicit ACL end?", ["permit any", "deny any"], 1, "B) deny any - traffic is dropped", True),
    ("q7 iBGP distance?", ["20", "110", "200"], 2, "I don't know.", False),
    ("q8 Protocol on N4?", ["GTP-C", "PFCP", "NGAP"], 1, "The correct answer is NGAP.", False),
]


def _mcq_set(tmp_path: Path) -> Path:
    path = tmp_path / "mcq.jsonl"
    path.write_text("\n".join(json.dumps({"id": q.split()[0], "question": q, "options": opts, "answer": gold,
                                          "category": "routing" if i % 2 else "core"})
                              for i, (q, opts, gold, _r, _c) in enumerate(MCQ)) + "\n", encoding="utf-8")
    return path


def _mcq_brain(body: dict[str, Any]) -> str:
    user = _user_text(body)
    qid = re.search(r"Question: (q\d+)", user).group(1)  # type: ignore[union-attr]
    return next(reply for q, _o, _g, reply, _c in MCQ if q.startswith(qid + " "))


def test_mcq_varied_phrasings_side_by_side(server: _Server, tmp_path: Path) -> None:
    server.scripts = {"student": _mcq_brain, "weak": lambda body: "1"}
    out = tmp_path / "report.json"
    result = CliRunner().invoke(cli_app(register_knowledge), ["eval-knowledge", "--brain", _spec(server, "student"),
                                         "--baseline", _spec(server, "weak"), "--set", str(_mcq_set(tmp_path)),
                                         "--json", str(out)])
    assert result.exit_code == 0, result.output
    assert "accuracy by category" in result.stdout and "Δ" in result.stdout
    report = json.loads(out.read_text())
    assert report["schema_version"] == "twinops.knowledge-report/1"
    assert report["set"]["kind"] == "mcq" and report["set"]["items"] == len(MCQ)
    brain, baseline = report["runs"]
    assert (brain["label"], baseline["label"]) == ("brain", "baseline")
    expected = sum(c for *_x, c in MCQ)
    assert brain["overall"]["correct"] == expected == 6
    assert brain["overall"]["accuracy"] == pytest.approx(expected / len(MCQ))
    low, high = wilson_interval(expected, len(MCQ))
    assert brain["overall"]["ci_low"] == pytest.approx(low) and brain["overall"]["ci_high"] == pytest.approx(high)
    assert brain["unanswered"] == 1 and brain["refused"] == 1 and brain["errors"] == 0
    per_item = {r["id"]: r for r in brain["results"]}
    for q, _opts, gold, reply, correct in MCQ:
        item = per_item[q.split()[0]]
        assert item["correct"] is correct and item["response"] == reply and item["gold"] == gold
    assert per_item["q8"]["predicted"] == 2  # read as NGAP: wrong, but answered
    assert set(brain["categories"]) == {"core", "routing"}
    assert sum(c["n"] for c in brain["categories"].values()) == len(MCQ)
    assert baseline["overall"]["correct"] == 1  # "1" is right only for q1
    overall = next(d for d in report["comparison"] if d["category"] == "overall")
    assert overall["delta"] == pytest.approx((6 - 1) / len(MCQ))
    # the prompt numbers the options and asks for "Answer: N"
    prompt = _user_text(server.bodies[0])
    assert "Options:\n1. TCP 179\n2. UDP 179\n3. TCP 646" in prompt and 'Answer: N' in prompt


def test_classification_accuracy_and_confusion(server: _Server, tmp_path: Path) -> None:
    replies = {"PDCP": "Label: RAN2", "NG Setup": "RAN3", "SUCI": "This is SA2 work", "PFCP": "no idea"}
    server.scripts = {"student": lambda body: next(v for k, v in replies.items() if k in _user_text(body))}
    path = tmp_path / "c.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in [
        {"text": "PDCP ciphering and ROHC", "label": "RAN2"}, {"text": "NG Setup Request to the AMF", "label": "RAN3"},
        {"text": "SUCI concealment with ECIES", "label": "SA3"}, {"text": "PFCP session rules", "label": "CT4"},
    ]) + "\n", encoding="utf-8")
    out = tmp_path / "r.json"
    result = CliRunner().invoke(cli_app(register_knowledge), ["eval-knowledge", "--brain", _spec(server, "student"), "--set", str(path),
                                         "--json", str(out)])
    assert result.exit_code == 0, result.output
    assert "confusion matrix" in result.stdout
    run = json.loads(out.read_text())["runs"][0]
    assert run["overall"]["correct"] == 2 and run["unanswered"] == 2  # "SA2" is not a label of this set
    cm = run["confusion"]
    assert cm["labels"] == ["CT4", "RAN2", "RAN3", "SA3"] and cm["predicted"][-1] == "(none)"
    row = dict(zip(cm["predicted"], cm["matrix"][cm["labels"].index("SA3")], strict=True))
    assert row == {"CT4": 0, "RAN2": 0, "RAN3": 0, "SA3": 0, "(none)": 1}
    assert cm["matrix"][cm["labels"].index("CT4")][-1] == 1
    assert cm["matrix"][cm["labels"].index("RAN2")][cm["predicted"].index("RAN2")] == 1
    assert "Classify the text into exactly one of these labels: CT4, RAN2, RAN3, SA3." in _user_text(server.bodies[0])


# ---- open Q&A with a judge -----------------------------------------------------------------------------


def _verdict(correctness: int) -> str:
    scores = {c: 8 for c in CRITERIA} | {"correctness": correctness}
    return json.dumps({c: {"score": s, "justification": f"{c} looks fine."} for c, s in scores.items()})


def _judge_script() -> tuple[Script, dict[str, int]]:
    """q-ids containing 'bad' always get prose; 'flaky' get prose first, then a verdict. Valid verdicts give
    correctness 8 the first time an item is judged and 6 afterwards (so self-agreement is measurable)."""
    valid_calls: dict[str, int] = {}

    def judge(body: dict[str, Any]) -> str:
        user = _user_text(body)
        qid = re.search(r"\[(\w+)\]", user).group(1)  # type: ignore[union-attr]
        if "bad" in qid:
            return "The answer looks good to me, I would give it 8/10."
        if "flaky" in qid and len(body["messages"]) == 2:
            return '{"instruction_following": {"score": 8}}'
        valid_calls[qid] = valid_calls.get(qid, 0) + 1
        return f"```json\n{_verdict(8 if valid_calls[qid] == 1 else 6)}\n```"

    return judge, valid_calls


def _open_set(tmp_path: Path, qids: list[str]) -> Path:
    path = tmp_path / "open.jsonl"
    path.write_text("\n".join(json.dumps({"id": q, "question": f"[{q}] Why does OSPF elect a DR?",
                                          "reference": "To reduce adjacencies.", "category": "OSPF"})
                              for q in qids) + "\n", encoding="utf-8")
    return path


def test_judge_valid_malformed_retried_and_self_agreement(server: _Server, tmp_path: Path) -> None:
    judge, _calls = _judge_script()
    server.scripts = {"student": lambda body: "The DR reduces the number of adjacencies.", "judge": judge}
    out = tmp_path / "r.json"
    result = CliRunner().invoke(cli_app(register_knowledge), [
        "eval-knowledge", "--brain", _spec(server, "student"), "--judge", _spec(server, "judge"),
        "--set", str(_open_set(tmp_path, ["good1", "good2", "flaky", "bad"])), "--json", str(out),
        "--agreement-sample", "1.0"])
    assert result.exit_code == 0, result.output
    assert "judge self-agreement" in result.stdout
    report = json.loads(out.read_text())
    assert report["rubric"]["version"] == "rubric_v1" and len(report["rubric"]["sha256"]) == 64
    assert report["rubric"]["criteria"] == CRITERIA
    run = report["runs"][0]
    items = {r["id"]: r for r in run["results"]}
    assert items["good1"]["judge"]["attempts"] == 1 and items["good1"]["judge"]["scores"]["correctness"] == 8
    assert items["good1"]["judge"]["overall"] == 8.0
    assert items["flaky"]["judge"]["attempts"] == 2 and items["flaky"]["judge"]["scores"] is not None
    assert "Field required" in items["flaky"]["judge"]["errors"][0]
    bad = items["bad"]["judge"]
    assert bad["scores"] is None and bad["attempts"] == 3 and len(bad["errors"]) == 3  # 1 try + 2 retries
    assert run["judge_failures"] == 1
    assert run["scores"]["judged"] == 3 and run["scores"]["failures"] == 1
    assert run["scores"]["overall_mean"] == pytest.approx(8.0)
    assert run["scores"]["criteria"]["correctness"] == pytest.approx(8.0)
    # the judge saw the strict-JSON rubric prompt, and on retry its own reply plus the error
    judge_requests = [b for b in server.bodies if b["model"] == "judge" and "[bad]" in _user_text(b)]
    assert len(judge_requests) == 3
    last = judge_requests[-1]["messages"]
    assert last[0]["role"] == "system" and "single JSON object" in last[0]["content"]
    assert "REFERENCE ANSWER" in last[1]["content"] and "To reduce adjacencies." in last[1]["content"]
    assert last[2]["role"] == "assistant" and last[3]["role"] == "user"
    assert "must be a single JSON object" in last[3]["content"]
    # self-agreement: every judged item re-scored once; correctness moves 8 -> 6, the rest agree
    agreement = run["agreement"]
    assert agreement["sampled"] == 3 and agreement["rescored"] == 3 and agreement["failures"] == 0
    assert agreement["per_criterion_mad"] == {"instruction_following": 0.0, "correctness": 2.0,
                                              "completeness": 0.0, "safety": 0.0}
    assert agreement["mean_abs_diff"] == pytest.approx(0.5)
    assert agreement["exact_agreement"] == pytest.approx(0.75) and agreement["within_one"] == pytest.approx(0.75)


def test_default_agreement_sample_is_a_fifth(server: _Server, tmp_path: Path) -> None:
    judge, calls = _judge_script()
    server.scripts = {"student": lambda body: "answer", "judge": judge}
    out = tmp_path / "r.json"
    qids = [f"g{i}" for i in range(10)]
    result = CliRunner().invoke(cli_app(register_knowledge), ["eval-knowledge", "--brain", _spec(server, "student"), "--judge",
                                         _spec(server, "judge"), "--set", str(_open_set(tmp_path, qids)),
                                         "--json", str(out)])
    assert result.exit_code == 0, result.output
    agreement = json.loads(out.read_text())["runs"][0]["agreement"]
    assert agreement["sampled"] == 2 and sorted(calls.values()).count(2) == 2


def test_judge_unit_parsing_and_bounded_retries() -> None:
    from langchain_core.language_models.fake_chat_models import FakeListChatModel

    rubric = load_rubric()
    assert parse_judgement(_verdict(7), rubric)["correctness"] == {"score": 7, "justification": "correctness looks fine."}
    judge = Judge(FakeListChatModel(responses=["nope", "still nope", _verdict(9)]), rubric, retries=2)
    outcome = judge.score("q", None, "a")
    assert outcome.ok and outcome.attempts == 3 and outcome.scores and outcome.scores["correctness"] == 9
    judge = Judge(FakeListChatModel(responses=["nope"] * 5), rubric, retries=1)
    outcome = judge.score("q", None, "a")
    assert not outcome.ok and outcome.attempts == 2
    assert "(none given)" in judge.messages("q", None, "a")[1].content


def test_open_qa_without_judge_and_expert_brains_are_usage_errors(tmp_path: Path) -> None:
    oqa = EXAMPLES / "open_qa_example.jsonl"
    result = CliRunner().invoke(cli_app(register_knowledge), ["eval-knowledge", "--brain", "openai:http://127.0.0.1:9", "--set", str(oqa)])
    assert result.exit_code == 2 and "--judge" in result.stderr
    for args in (["--brain", "expert"], ["--brain", "openai:http://127.0.0.1:9", "--judge", "expert"],
                 ["--brain", "openai:http://127.0.0.1:9", "--baseline", "expert"]):
        result = CliRunner().invoke(cli_app(register_knowledge), ["eval-knowledge", *args, "--set", str(oqa)])
        assert result.exit_code == 2, args
        assert "tool-calling network agent, not a question-answering model" in " ".join(result.stderr.split())
    result = CliRunner().invoke(cli_app(register_knowledge), ["eval-knowledge", "--brain", "gpt4", "--set", str(oqa)])
    assert result.exit_code == 2 and "unknown brain kind" in result.stderr
    result = CliRunner().invoke(cli_app(register_knowledge), ["eval-knowledge", "--brain", f"hf:{tmp_path / 'none'}",
                                         "--set", str(EXAMPLES / "teleqna_example.json")])
    assert result.exit_code == 2 and "cannot load hf model" in result.stderr
    bad_rubric = tmp_path / "rubric.yaml"
    bad_rubric.write_text("version: x\ncriteria: {}\n", encoding="utf-8")
    result = CliRunner().invoke(cli_app(register_knowledge), ["eval-knowledge", "--brain", "openai:http://127.0.0.1:9", "--judge",
                                         "openai:http://127.0.0.1:9", "--set", str(oqa), "--rubric", str(bad_rubric)])
    assert result.exit_code == 2 and str(bad_rubric) in " ".join(result.stderr.split())


def test_unreachable_brain_fails_with_exit_1(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    out = tmp_path / "r.json"
    result = CliRunner().invoke(cli_app(register_knowledge), ["eval-knowledge", "--brain", "openai:http://127.0.0.1:9/v1,max_retries=0,"
                                         "timeout=3", "--set", str(EXAMPLES / "teleqna_example.json"),
                                         "--limit", "2", "--json", str(out)])
    assert result.exit_code == 1, result.output
    assert "failed on every item" in result.stderr
    run = json.loads(out.read_text())["runs"][0]
    assert run["errors"] == 2 and run["items"] == 2 and run["methods"] == {"error": 2}


# ---- an hf brain: a tiny model and a LoRA adapter built in the test --------------------------------------


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    from agent.brains.tiny import build_tiny_model

    base_dir = build_tiny_model(tmp_path_factory.mktemp("tiny"))
    torch.manual_seed(1)
    lora = get_peft_model(AutoModelForCausalLM.from_pretrained(base_dir),
                          LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"], init_lora_weights=False,
                                     task_type="CAUSAL_LM"))
    adapter = tmp_path_factory.mktemp("adapter")
    lora.save_pretrained(adapter)
    return base_dir, adapter


def test_hf_base_and_adapter_mcq_end_to_end(tiny: tuple[Path, Path], tmp_path: Path) -> None:
    base_dir, adapter = tiny
    out = tmp_path / "r.json"
    result = CliRunner().invoke(cli_app(register_knowledge), [
        "eval-knowledge", "--brain", f"hf:{base_dir},adapter={adapter},max_new_tokens=4",
        "--baseline", f"hf:{base_dir},max_new_tokens=4", "--set", str(EXAMPLES / "teleqna_example.json"),
        "--limit", "3", "--json", str(out)])
    assert result.exit_code == 0, result.output
    report = json.loads(out.read_text())
    assert report["set"]["items"] == 3 and report["set"]["format"] == "teleqna_json"
    assert [r["spec"] for r in report["runs"]] == [f"hf:{base_dir},adapter={adapter},max_new_tokens=4",
                                                   f"hf:{base_dir},max_new_tokens=4"]
    for run in report["runs"]:
        assert run["items"] == 3 and run["errors"] == 0 and len(run["results"]) == 3
        assert run["overall"]["n"] == 3 and 0.0 <= run["overall"]["accuracy"] <= 1.0
        assert run["overall"]["ci_low"] <= run["overall"]["accuracy"] <= run["overall"]["ci_high"]
        assert sum(run["methods"].values()) == 3
        assert sum(c["n"] for c in run["categories"].values()) == 3
        assert all(isinstance(r["response"], str) for r in run["results"])
    assert [d["category"] for d in report["comparison"]][-1] == "overall"
    assert "brain acc" in result.stdout and "baseline acc" in result.stdout
