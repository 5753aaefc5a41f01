"""Set files: every accepted shape loads; every bad file gives one clear line naming it, and exit 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_support import cli_app
from typer.testing import CliRunner

from finetune.knowledge.cli import register_knowledge
from finetune.knowledge.sets import SetFileError, load_set

EXAMPLES = Path(__file__).resolve().parents[1] / "finetune" / "knowledge" / "examples"


def _jsonl(path: Path, *records: object) -> Path:
    path.write_text("\n".join(json.dumps(r) for r in records) + "\n", encoding="utf-8")
    return path


def test_shipped_examples_load() -> None:
    mcq = load_set(EXAMPLES / "teleqna_example.json")
    assert (mcq.kind, mcq.format) == ("mcq", "teleqna_json") and len(mcq.items) >= 30
    assert mcq.about and "EXAMPLE" in mcq.about
    assert {i.category for i in mcq.items} >= {"OSPF", "BGP", "Cisco IOS", "3GPP / 5G", "RFC knowledge"}
    assert len({i.answer for i in mcq.items}) == 4  # correct options spread over all positions
    first = mcq.items[0]
    assert first.id == "question 0" and first.options[first.answer] == "10 seconds"
    oqa = load_set(EXAMPLES / "open_qa_example.jsonl")
    assert oqa.kind == "open_qa" and len(oqa.items) >= 20 and all(i.reference for i in oqa.items)
    cls = load_set(EXAMPLES / "classification_example.jsonl")
    assert cls.kind == "classification" and len(cls.items) >= 30
    assert cls.labels == ["CT1", "CT4", "RAN1", "RAN2", "RAN3", "SA2", "SA3"]


def test_teleqna_shape(tmp_path: Path) -> None:
    data = {"question 0": {"question": "Which port does BGP use?", "option 1": "TCP 179", "option 2": "UDP 179",
                           "answer": "option 1: TCP 179", "explanation": "RFC 4271.", "category": "Lexicon"},
            "question 7": {"question": "Eigenmodes?", "option 1": "nt", "option 2": "nr", "option 3": "min(nt, nr)",
                           "option 4": "max(nt, nr)", "answer": "option 3: min(nt, nr)",
                           "category": "Research publications"}}
    path = tmp_path / "TeleQnA.txt"  # the real file is a .txt holding JSON: detection is by content
    path.write_text(json.dumps(data), encoding="utf-8")
    ks = load_set(path)
    assert ks.format == "teleqna_json"
    assert [(i.id, i.answer, i.category) for i in ks.items] == [("question 0", 0, "Lexicon"),
                                                                 ("question 7", 2, "Research publications")]


@pytest.mark.parametrize(("record", "answer"), [
    ({"question": "q", "options": ["a", "b", "c"], "answer": 2}, 2),  # int: 0-based (HF convention)
    ({"question": "q", "choices": ["a", "b", "c"], "answer": 0}, 0),
    ({"question": "q", "options": ["a", "b", "c"], "answer": "option 2"}, 1),  # "option N": 1-based
    ({"question": "q", "options": ["a", "b", "c"], "answer": "option 3: c"}, 2),
    ({"question": "q", "options": ["a", "b", "c"], "answer": "B"}, 1),
    ({"question": "q", "options": ["OSPF", "BGP"], "answer": "bgp"}, 1),  # the option's text
    ({"question": "q", "option 1": "x", "option 2": "y", "answer": "option 2: y"}, 1),
    ({"question": "q", "options": ["a", "b"], "answer_index": 1}, 1),
])
def test_mcq_jsonl_answer_forms(tmp_path: Path, record: dict, answer: int) -> None:
    ks = load_set(_jsonl(tmp_path / "s.jsonl", {"_about": "meta line"}, record))
    assert ks.kind == "mcq" and ks.format == "mcq_jsonl" and ks.items[0].answer == answer
    assert ks.about == "meta line" and ks.items[0].id == "1" and ks.items[0].category == "uncategorised"


def test_open_and_classification_jsonl(tmp_path: Path) -> None:
    ks = load_set(_jsonl(tmp_path / "o.jsonl", {"question": "What is OSPF?", "reference": "A link-state IGP."},
                         {"id": "x", "question": "What is BGP?", "category": "BGP"}))
    assert ks.kind == "open_qa" and [i.id for i in ks.items] == ["1", "x"] and ks.items[1].reference is None
    ks = load_set(_jsonl(tmp_path / "c.jsonl", {"text": "PDCP ciphering", "label": "RAN2"},
                         {"text": "NG Setup", "label": "RAN3", "labels": ["RAN2", "RAN3", "SA2"]}))
    assert ks.kind == "classification" and ks.labels == ["RAN2", "RAN3", "SA2"]
    ks = load_set(_write(tmp_path / "a.json", json.dumps([{"text": "t", "label": 1}, {"text": "u", "label": 2}])))
    assert ks.labels == ["1", "2"]  # a JSON array of records; labels as strings
    assert load_set(_write(tmp_path / "one.jsonl", json.dumps({"question": "only one?"}))).kind == "open_qa"


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


BAD_FILES: list[tuple[str, str, str]] = [
    ("empty.jsonl", "", "empty file"),
    ("prose.txt", "What is OSPF?\n", "not JSON or JSONL"),
    ("broken.jsonl", '{"question": "a"}\n{"question": \n', "line 2: invalid JSON"),
    ("teleqna_range.json", json.dumps({"question 0": {"question": "q", "option 1": "a", "option 2": "b",
                                                      "answer": "option 5: e"}}),
     "'question 0': answer 'option 5: e' names option 5, but there are 2 options"),
    ("teleqna_answer.json", json.dumps({"question 0": {"question": "q", "option 1": "a", "option 2": "b",
                                                       "answer": "a"}}), "answer must look like 'option N: text'"),
    ("teleqna_gap.json", json.dumps({"question 0": {"question": "q", "option 1": "a", "option 3": "b",
                                                    "answer": "option 1"}}), "without gaps"),
    ("no_question.jsonl", '{"options": ["a", "b"], "answer": 0}\n', "line 1: question: Field required"),
    ("no_options.jsonl", '{"question": "q", "options": ["a"], "answer": 0}\n', "line 1: options"),
    ("ambiguous.jsonl", '{"question": "q", "options": ["a", "b"], "answer": "2"}\n', "ambiguous"),
    ("out_of_range.jsonl", '{"question": "q", "options": ["a", "b"], "answer": 2}\n', "out of range"),
    ("mixed.jsonl", '{"question": "q", "options": ["a", "b"], "answer": 0}\n{"question": "open?"}\n',
     "line 2: holds a 'open_qa' item, but line 1 holds a 'mcq' item"),
    ("unknown.jsonl", '{"prompt": "x", "completion": "y"}\n', "cannot tell what kind of item"),
    ("dup.jsonl", '{"id": "a", "question": "q1"}\n{"id": "a", "question": "q2"}\n', "duplicate item id 'a'"),
    ("only_meta.jsonl", '{"_about": "x"}\n', "no items"),
    ("label.jsonl", '{"text": "t", "label": "X", "labels": ["A", "B"]}\n', "label 'X' is not in its own 'labels'"),
    ("scalar.jsonl", '"just a string"\n', "not JSON or JSONL"),
]


@pytest.mark.parametrize(("name", "content", "message"), BAD_FILES, ids=[b[0] for b in BAD_FILES])
def test_bad_set_files(tmp_path: Path, name: str, content: str, message: str) -> None:
    path = _write(tmp_path / name, content)
    with pytest.raises(SetFileError) as info:
        load_set(path)
    assert str(path) in str(info.value) and message in str(info.value)
    result = CliRunner().invoke(cli_app(register_knowledge), ["eval-knowledge", "--brain", "openai:http://127.0.0.1:9/v1",
                                         "--set", str(path)])
    assert result.exit_code == 2, result.output
    err = " ".join(result.stderr.split())
    assert err.startswith("error: ") and str(path) in err and message in err
    assert "Traceback" not in result.output and result.stdout == ""


def test_missing_and_non_utf8_set_files(tmp_path: Path) -> None:
    for path, message in ((tmp_path / "nope.json", "no such file"), (tmp_path, "not a file")):
        result = CliRunner().invoke(cli_app(register_knowledge), ["eval-knowledge", "--brain", "openai:http://127.0.0.1:9/v1",
                                             "--set", str(path)])
        assert result.exit_code == 2 and message in result.stderr and str(path) in " ".join(result.stderr.split())
    bad = tmp_path / "latin1.jsonl"
    bad.write_bytes(b'{"question": "caf\xe9"}\n')
    with pytest.raises(SetFileError, match="not UTF-8"):
        load_set(bad)


def test_limit_keeps_label_space(tmp_path: Path) -> None:
    ks = load_set(_jsonl(tmp_path / "c.jsonl", {"text": "a", "label": "X"}, {"text": "b", "label": "Y"}))
    limited = ks.limited(1)
    assert len(limited.items) == 1 and limited.labels == ["X", "Y"] and len(ks.limited(None).items) == 2
