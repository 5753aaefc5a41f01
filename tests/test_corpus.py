"""Corpus tools: loading, cleaning, language guess, exact + near dedupe, packing, splitting, `data corpus`."""

from __future__ import annotations

import json
import os
from pathlib import Path

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"

import pytest
import typer
from typer.testing import CliRunner

from finetune.corpus import (
    CorpusError,
    Document,
    clean_text,
    dedupe,
    guess_language,
    html_to_text,
    load_documents,
    pack_blocks,
    prepare_corpus,
    split_documents,
)
from finetune.corpus_cli import register_corpus

EXAMPLES = Path(__file__).resolve().parents[1] / "finetune" / "knowledge" / "examples" / "corpus"

OSPF = ("Every OSPF router sends Hello packets out of each enabled interface. Two routers become neighbors only "
        "when the area, the timers, the authentication and the subnet agree. On a broadcast segment the routers "
        "elect a designated router and a backup designated router, and the router with the highest priority wins, "
        "ties being broken by the highest router ID. Routers that are neither stay in the two way state. During "
        "the database exchange the interface MTU is carried in database description packets and a mismatch "
        "keeps the neighbor in exstart. When no link state requests remain the neighbor is full.")
BGP = ("BGP chooses one best path per prefix. Weight is compared first, then local preference, then locally "
       "originated paths, the shortest AS path, the lowest origin type and the lowest multi exit discriminator. "
       "External paths are preferred over internal ones, then the path with the lowest IGP metric to the next hop. "
       "Operators steer outbound traffic with local preference and inbound traffic with prepending.")

OSPF_OTHER = ("OSPF areas limit flooding: routers inside an area share one link state database, and area border "
              "routers summarise the routes of each area for the backbone. Every OSPF router in an area runs the "
              "shortest path first algorithm over that database. When the MTU of two neighbors differs they stay "
              "in exstart, and when hello timers differ they never become neighbors at all.")


def _app() -> typer.Typer:
    app = typer.Typer()
    data = typer.Typer()
    register_corpus(data)
    app.add_typer(data, name="data")
    return app


# ---- cleaning ---------------------------------------------------------------------------------------


def test_clean_text_strips_rfc_pages_form_feeds_and_boilerplate() -> None:
    raw = ("RFC 2328                     OSPF Version 2                   April 1998\n"
           "\n\n   The Hello   protocol\u00a0is used   to discover neighbors.\n"
           "Moy                         Standards Track                   [Page 12]\n"
           "\f\n"
           "Internet-Draft          Example Draft Title            March 2024\n"
           "   1.  Introduction ....................................... 4\n"
           "Skip to main content\n"
           "Copyright (c) 2024 Example Networks. All rights reserved.\n"
           "----------\n"
           "42\n"
           "  router ospf 1\n"
           "   network 10.0.0.0 0.255.255.255 area 0\n\n\n\n"
           "The e\ufb03cient zero\u200bwidth text.\n")
    cleaned = clean_text(raw)
    assert "[Page" not in cleaned and "April 1998" not in cleaned and "March 2024" not in cleaned
    assert "\f" not in cleaned and "\u00a0" not in cleaned and "\u200b" not in cleaned
    assert "Skip to main" not in cleaned and "rights reserved" not in cleaned and "....." not in cleaned
    assert "\n42\n" not in cleaned and "-----" not in cleaned
    assert "The Hello protocol is used to discover neighbors." in cleaned  # spaces collapsed, NBSP normalised
    assert "  router ospf 1\n   network 10.0.0.0 0.255.255.255 area 0" in cleaned  # indentation kept
    assert "efficient zerowidth" in cleaned  # NFKC ligature, invisible char dropped
    assert "\n\n\n" not in cleaned and cleaned == cleaned.rstrip() and not cleaned.startswith("\n")


def test_clean_text_custom_boilerplate_and_empty() -> None:
    import re

    assert clean_text("keep me\nDROP THIS LINE", boilerplate=[re.compile(r"^DROP")]) == "keep me"
    assert clean_text("\f\n   \n[Page 3]\n") == ""


def test_html_to_text_drops_script_style_nav_and_keeps_structure() -> None:
    page = ("<html><head><title>IOS guide</title><style>p{color:red}</style><script>var x=1;</script></head>"
            "<body><nav><a href='/'>Home</a> <a href='/x'>Docs</a></nav><h1>Interfaces</h1>"
            "<p>Use <code>no   shutdown</code>\n to enable.</p><pre>interface Gi0/1\n no shutdown</pre>"
            "<noscript>enable JS</noscript><p>A &amp; B</p></body></html>")
    text = html_to_text(page)
    assert "IOS guide" in text and "Interfaces" in text
    assert "var x" not in text and "color:red" not in text and "Home" not in text and "enable JS" not in text
    assert "Use no shutdown to enable." in " ".join(text.split())
    assert "interface Gi0/1\n no shutdown" in text  # <pre> whitespace kept
    assert "A & B" in text


def test_load_documents_formats_order_hidden_and_errors(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / ".git").mkdir()
    (tmp_path / "b.txt").write_text("plain text", encoding="utf-8")
    (tmp_path / "a.md").write_text("# markdown", encoding="utf-8")
    (tmp_path / "sub" / "a.html").write_text("<p>html <script>x()</script>page</p>", encoding="utf-8")
    (tmp_path / "c.HTM").write_bytes("caf\xe9 latin-1".encode("latin-1"))
    (tmp_path / "ignored.pdf").write_bytes(b"%PDF")
    (tmp_path / ".git" / "x.txt").write_text("hidden", encoding="utf-8")
    docs = load_documents(tmp_path)
    assert [d.id for d in docs] == ["a.md", "b.txt", "c.HTM", "sub/a.html"]  # shallow first, then by name
    assert [d.format for d in docs] == ["md", "txt", "html", "html"]
    assert docs[2].text.strip() == "café latin-1"
    assert "x()" not in docs[3].text and "html" in docs[3].text
    with pytest.raises(CorpusError, match="does not exist"):
        load_documents(tmp_path / "nowhere")
    with pytest.raises(CorpusError, match=r"no \.txt/\.md/\.html/\.htm documents"):
        prepare_corpus(_empty(tmp_path))


def _empty(tmp_path: Path) -> Path:
    empty = tmp_path / "empty"
    empty.mkdir()
    return empty


@pytest.mark.parametrize(("text", "lang"), [
    ("The router sends a hello packet on each interface and the neighbor must answer it within the dead interval.", "en"),
    ("Der Router sendet auf jeder Schnittstelle ein Paket und der Nachbar muss es innerhalb des Intervalls beantworten.", "de"),
    ("Le routeur envoie un paquet sur chaque interface et le voisin doit répondre dans la période prévue pour cela.", "fr"),
    ("El router envía un paquete en cada interfaz y el vecino debe responder en el intervalo que se configura.", "es"),
    ("interface Gi0/1 ip address 10.0.0.1 255.255.255.0", "other"),
    ("短い日本語のテキストです。これは英語ではありません。ルーターの設定について説明します。", "other"),
])
def test_guess_language(text: str, lang: str) -> None:
    assert guess_language(text) == lang


# ---- dedupe -----------------------------------------------------------------------------------------


def _doc(doc_id: str, text: str) -> Document:
    return Document(id=doc_id, source=f"/x/{doc_id}", format="txt", text=text)


def test_dedupe_exact_near_and_distinct() -> None:
    near = OSPF.replace("highest priority wins", "highest priority is elected").replace("two way", "2-way")
    docs = [
        _doc("ospf.txt", OSPF),
        _doc("bgp.txt", BGP),
        _doc("ospf-copy.txt", "  " + OSPF.upper().replace(". ", ".\n\n")),  # layout/case only: exact
        _doc("ospf-mirror.txt", near),
        _doc("ospf-other.txt", OSPF_OTHER),  # same topic and words, different text: kept
    ]
    kept, report = dedupe(docs)
    assert [d.id for d in kept] == ["ospf.txt", "bgp.txt", "ospf-other.txt"]
    assert (report.exact_removed, report.near_removed, report.kept_documents) == (1, 1, 3)
    pairs = {p.removed: p for p in report.pairs}
    assert pairs["ospf-copy.txt"].kind == "exact" and pairs["ospf-copy.txt"].kept == "ospf.txt"
    assert pairs["ospf-mirror.txt"].kind == "near" and pairs["ospf-mirror.txt"].kept == "ospf.txt"
    assert 0.8 <= pairs["ospf-mirror.txt"].similarity < 1.0
    assert report.bands * report.rows <= report.num_perm


def test_dedupe_threshold_strings_and_validation() -> None:
    near = OSPF.replace("highest priority wins", "highest priority is elected")
    kept, report = dedupe([OSPF, near, BGP], threshold=1.0)  # plain strings work; only identical sets merge
    assert kept == [OSPF, near, BGP] and report.near_removed == 0
    kept, report = dedupe([OSPF, near, BGP], near=False)
    assert len(kept) == 3
    kept, report = dedupe([OSPF, near, BGP], threshold=0.5)
    assert kept == [OSPF, BGP] and report.pairs[0].removed == "1"
    with pytest.raises(ValueError, match="threshold"):
        dedupe([OSPF], threshold=0.0)


# ---- packing and splitting --------------------------------------------------------------------------


def test_pack_blocks_fixed_length_with_eos() -> None:
    docs = [[1, 2, 3], [4, 5], [6, 7, 8, 9]]
    blocks = pack_blocks(docs, 4, eos_id=0)
    # stream: 1 2 3 0 4 5 0 6 7 8 9 0  -> three full blocks, nothing left
    assert blocks == [[1, 2, 3, 0], [4, 5, 0, 6], [7, 8, 9, 0]]
    assert pack_blocks(docs, 5, eos_id=None) == [[1, 2, 3, 4, 5]]  # tail of 4 dropped
    assert pack_blocks(docs, 5, eos_id=None, pad_id=-1) == [[1, 2, 3, 4, 5], [6, 7, 8, 9, -1]]
    assert pack_blocks([[1]], 8, eos_id=0) == []
    assert all(len(b) == 3 for b in pack_blocks((range(10) for _ in range(3)), 3, eos_id=99))
    with pytest.raises(ValueError):
        pack_blocks(docs, 0, eos_id=0)


def test_split_documents_by_document() -> None:
    docs = [f"doc{i}" for i in range(20)]
    train, held = split_documents(docs, 0.2, seed=1)
    assert len(held) == 4 and len(train) == 16
    assert not set(train) & set(held) and set(train) | set(held) == set(docs)
    assert train == sorted(train, key=docs.index)  # input order kept
    assert split_documents(docs, 0.2, seed=1) == (train, held)  # deterministic
    assert split_documents(docs, 0.2, seed=2) != (train, held)
    assert len(split_documents(["a", "b"], 0.01)[1]) == 1  # at least one held out
    assert split_documents(["a"], 0.5) == (["a"], [])
    assert split_documents(docs, 0.0) == (docs, [])


# ---- twinops data corpus ----------------------------------------------------------------------------


def test_data_corpus_on_the_example_folder(tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = CliRunner().invoke(_app(), ["data", "corpus", str(EXAMPLES), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "documents found" in result.stdout and "near duplicates removed" in result.stdout
    png = (out / "report.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 5000
    report = json.loads((out / "report.json").read_text())
    assert report["documents_found"] == 7
    assert report["exact_duplicates_removed"] == 1 and report["near_duplicates_removed"] == 1
    assert report["documents_kept"] == 5
    assert report["languages"] == {"en": 4, "de": 1}
    assert report["tokenizer"]["kind"] == "whitespace"
    assert sum(report["length_histogram"]["counts"]) == 5
    assert {p["removed"]: p["kind"] for p in report["dedupe"]["pairs"]} == {
        "mirror/bgp-best-path.md": "exact", "mirror/ospf-notes-mirror.txt": "near"}
    lines = [json.loads(line) for line in (out / "corpus.jsonl").read_text().splitlines()]
    assert len(lines) == 5 and {"id", "text", "tokens", "language"} <= set(lines[0])
    assert sum(line["tokens"] for line in lines) == report["tokens"]
    ospf = next(line for line in lines if line["id"] == "ospf-notes.txt")["text"]
    assert "[Page" not in ospf and "\f" not in ospf
    html = next(line for line in lines if line["id"] == "ios-interfaces.html")["text"]
    assert "analytics" not in html and "Skip to main content" not in html and "no shutdown" in html


def test_data_corpus_json_and_tokenizer(tmp_path: Path) -> None:
    from agent.brains.tiny import build_tokenizer

    tok_dir = tmp_path / "tok"
    build_tokenizer().save_pretrained(tok_dir)
    result = CliRunner().invoke(_app(), ["data", "corpus", str(EXAMPLES), "--out", str(tmp_path / "o"),
                                         "--tokenizer", str(tok_dir), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["tokenizer"]["kind"] == "hf"
    words = json.loads(CliRunner().invoke(_app(), ["data", "corpus", str(EXAMPLES), "--out", str(tmp_path / "w"),
                                                   "--json"]).stdout)["tokens"]
    assert report["tokens"] > words  # a 512-token BPE splits words into several pieces


def test_data_corpus_usage_errors(tmp_path: Path) -> None:
    result = CliRunner().invoke(_app(), ["data", "corpus", str(tmp_path / "missing"), "--out", str(tmp_path / "o")])
    assert result.exit_code == 2
    assert "does not exist" in result.stderr and str(tmp_path / "missing") in result.stderr
    result = CliRunner().invoke(_app(), ["data", "corpus", str(_empty(tmp_path)), "--out", str(tmp_path / "o")])
    assert result.exit_code == 2 and "no .txt/.md/.html/.htm documents" in result.stderr
    result = CliRunner().invoke(_app(), ["data", "corpus", str(EXAMPLES), "--out", str(tmp_path / "o"),
                                         "--tokenizer", str(tmp_path / "no-tokenizer")])
    assert result.exit_code == 2 and "cannot load a tokenizer" in result.stderr
