"""MCQ answer extraction for each usual phrasing, label extraction, and the Wilson interval."""

from __future__ import annotations

import pytest

from finetune.knowledge.extract import extract_choice, extract_label
from finetune.knowledge.stats import mean_interval, wilson_interval

OPTIONS = ["BGP", "OSPF", "RIP", "EIGRP"]


@pytest.mark.parametrize(("reply", "expected"), [
    # option number
    ("2", 1), ("2.", 1), ("2)", 1), ("Option 2", 1), ("option 2", 1), ("Option 2:", 1), ("option 2: OSPF", 1),
    ("Option #3", 2), ("(4)", 3), ("2 - OSPF is link-state", 1), ("Answer: 2", 1),
    # letter
    ("B", 1), ("b", 1), ("(b)", 1), ("b)", 1), ("B.", 1), ("B. OSPF", 1), ("**B**", 1), ("[C]", 2), ("C) RIP", 2),
    ("Choice D", 3), ("Correct option: C", 2), ("The answer is B because it floods LSAs.", 1),
    # option text, exact and fuzzy
    ("OSPF", 1), ("ospf.", 1), ("Ospf protocol", 1), ("I think it's OSPF since it is link-state.", 1),
    ("OSPFF", 1), ("Answer: OSPF", 1),
    # "the answer is ..." and other explicit statements (the last one wins)
    ("The answer is D.", 3), ("The correct answer is option 4: EIGRP", 3), ("the answer is ospf", 1),
    ("I'm not sure, but the answer is (d)", 3), ("I would choose C", 2), ("Final answer: A", 0),
    ("Option 1 is wrong. Option 2 is correct.", 1), ("The answer is A. Wait, no: the answer is C.", 2),
    ("<think>maybe BGP, or option 1</think>Answer: 3", 2),
    # first / last mention rules
    ("Between BGP and OSPF, OSPF fits; therefore OSPF.", 1),
    ("Both BGP and OSPF are routing protocols.", 0),
    ("Option 1 or option 3? Option 1 looks tempting, but in conclusion option 3.", 2),
])
def test_extract_choice_phrasings(reply: str, expected: int) -> None:
    got = extract_choice(reply, OPTIONS)
    assert got.choice == expected, (reply, got)
    assert not got.refused


@pytest.mark.parametrize("reply", [
    "I don't know.", "I do not know the answer to this question.", "I cannot determine this from the options.",
    "There is not enough information to answer.", "None of the options is correct.", "As an AI, I cannot help.",
])
def test_refusals_are_unanswered(reply: str) -> None:
    got = extract_choice(reply, OPTIONS)
    assert got.choice is None and got.refused and got.method == "refusal"


@pytest.mark.parametrize("reply", ["", "   ", "2 routers are needed for an adjacency", "A router floods LSAs.", "I", "7",
                                   "<think>the answer is B"])
def test_no_answer(reply: str) -> None:
    got = extract_choice(reply, OPTIONS)
    assert got.choice is None and not got.refused


def test_text_beats_look_alike_references() -> None:
    assert extract_choice("The answer is 4 bytes", ["2 bytes", "4 bytes", "8 bytes", "16 bytes"]).choice == 1
    assert extract_choice("the answer is C band", ["L band", "C band", "Ka band"]).choice == 1
    assert extract_choice("Answer: 4", ["2", "4", "8"]).choice == 1  # 4 is out of range as a number: the text
    assert extract_choice("min(nt, nr)", ["nt", "nr", "min(nt, nr)", "max(nt, nr)"]).choice == 2
    assert extract_choice("OSPFv3", ["OSPF", "OSPFv3", "RIPng"]).choice == 1  # longest text wins


def test_the_refusal_option_is_an_answer() -> None:
    assert extract_choice("None of the above", ["OSPF", "BGP", "None of the above"]).choice == 2


LABELS = ["RAN1", "RAN2", "RAN3", "SA2", "SA3", "CT1", "CT4"]


@pytest.mark.parametrize(("reply", "expected"), [
    ("RAN2", 1), ("ran2", 1), ("Label: SA2", 3), ("The working group is CT4.", 6), ("This is RAN1 work.", 0),
    ("RAN1 or RAN2? I'd say RAN2 in the end, therefore RAN2", 1), ("**SA3**", 4), ("Label: RAN3 (NG-RAN interfaces)", 2),
])
def test_extract_label(reply: str, expected: int) -> None:
    assert extract_label(reply, LABELS).choice == expected


def test_extract_label_none_and_refusal() -> None:
    assert extract_label("no idea, sorry", LABELS).choice is None
    assert extract_label("I don't know", LABELS).refused
    assert extract_label("RAN", LABELS).choice is None  # a prefix of a label is not the label


def test_wilson_interval_known_values() -> None:
    low, high = wilson_interval(5, 10)
    assert low == pytest.approx(0.2366, abs=1e-4) and high == pytest.approx(0.7634, abs=1e-4)
    low, high = wilson_interval(0, 10)
    assert low == 0.0 and high == pytest.approx(0.2775, abs=1e-4)
    low, high = wilson_interval(10, 10)
    assert low == pytest.approx(0.7225, abs=1e-4) and high == 1.0
    low, high = wilson_interval(81, 100)
    assert low == pytest.approx(0.7222, abs=1e-3) and high == pytest.approx(0.8749, abs=1e-3)
    assert wilson_interval(0, 0) == (0.0, 1.0)
    with pytest.raises(ValueError):
        wilson_interval(3, 2)


def test_wilson_narrows_with_n() -> None:
    widths = [(lambda lo_hi: lo_hi[1] - lo_hi[0])(wilson_interval(n // 2, n)) for n in (10, 100, 1000)]
    assert widths[0] > widths[1] > widths[2]


def test_mean_interval() -> None:
    assert mean_interval([]) == (0.0, 0.0, 0.0)
    assert mean_interval([7.0]) == (7.0, 7.0, 7.0)
    mean, low, high = mean_interval([6.0, 8.0])
    assert mean == 7.0 and low < 7.0 < high
