"""Corpus preparation for continual pre-training: load, clean, deduplicate, pack, split.

Continual pre-training (the ``cpt`` method) learns from whatever text a user drops in a folder: RFC text
files, vendor manuals saved as HTML, Markdown notes. Such folders are noisy (RFC page headers and footers
every 58 lines, navigation menus, cookie banners) and full of copies (the same manual saved twice, an RFC
and its errata-fixed re-issue). Training on that wastes steps and makes the held-out perplexity lie (a
held-out document whose near-copy is in the training split is not held out). So this module:

* loads ``.txt``/``.md``/``.html``/``.htm`` files (:func:`load_documents`); HTML is turned into text with
  the standard library's ``html.parser`` (no new dependency), dropping ``script``/``style``/``nav``;
* cleans text (:func:`clean_text`): Unicode NFKC, whitespace, form feeds, RFC/Internet-Draft page
  headers and footers, boilerplate lines;
* removes exact duplicates (hash of normalised text) and near duplicates (:func:`dedupe`: MinHash over
  word shingles with LSH banding, in numpy, candidates verified by the Jaccard similarity of their
  shingle sets);
* guesses the language with a stopword-ratio heuristic (:func:`guess_language`: en/de/fr/es or
  ``other``; a heuristic, not a language identifier — it is there to spot stray non-English documents);
* packs token ids into fixed-length blocks (:func:`pack_blocks`) and splits by document
  (:func:`split_documents`), so the trainer and its held-out perplexity never share a document.

Everything here is importable without torch or transformers; the CPT trainer and ``twinops data corpus``
share it, so the report a user reads describes exactly the corpus that gets trained on.
"""

from __future__ import annotations

import functools
import hashlib
import html
import random
import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from html.parser import HTMLParser
from pathlib import Path
from typing import Literal, TypeVar

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

SUFFIXES: dict[str, Literal["txt", "md", "html"]] = {
    ".txt": "txt", ".text": "txt", ".md": "md", ".markdown": "md", ".html": "html", ".htm": "html",
}
DEFAULT_NEAR_THRESHOLD = 0.8
DEFAULT_NUM_PERM = 128
DEFAULT_SHINGLE = 5

T = TypeVar("T")


class CorpusError(ValueError):
    """A corpus folder that cannot be used (missing, not a folder, no documents); one readable line."""


class Document(BaseModel):
    """One source document. ``id`` is the path relative to the corpus folder (stable across machines)."""

    model_config = ConfigDict(frozen=True)

    id: str
    source: str = Field(description="absolute path of the file it came from")
    format: Literal["txt", "md", "html"]
    text: str
    language: str | None = None


class DuplicatePair(BaseModel):
    """A removed document and the kept one it duplicates."""

    removed: str
    kept: str
    kind: Literal["exact", "near"]
    similarity: float = Field(description="1.0 for exact; Jaccard of word-shingle sets for near")


class DedupeReport(BaseModel):
    """What :func:`dedupe` removed and why; written into the corpus report."""

    input_documents: int
    kept_documents: int
    exact_removed: int
    near_removed: int
    threshold: float
    num_perm: int
    bands: int
    rows: int
    shingle_size: int
    pairs: list[DuplicatePair] = Field(default_factory=list)


# ---- loading -----------------------------------------------------------------------------------------


class _HTMLText(HTMLParser):
    """HTML -> text: block elements become line breaks; script/style/nav/etc. and <head> (but its
    <title>) are dropped, because they are code, menus and metadata, not prose to learn from."""

    SKIP = frozenset({"script", "style", "nav", "noscript", "template", "svg", "iframe", "button", "form"})
    BLOCK = frozenset({"p", "div", "br", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6", "tr", "table",
                       "pre", "section", "article", "blockquote", "hr", "dt", "dd", "dl", "header", "footer",
                       "main", "aside", "figure", "figcaption", "title", "td", "th", "caption"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip_depth = 0
        self._in_head = False
        self._in_title = False
        self._in_pre = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.SKIP:
            self._skip_depth += 1
            return
        if tag == "head":
            self._in_head = True
        elif tag == "title":
            self._in_title = True
        elif tag == "pre":
            self._in_pre += 1
        if tag in self.BLOCK:
            self.parts.append("\n")
        if tag in ("td", "th"):
            self.parts.append(" ")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("br", "hr") and not self._skip_depth:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self.SKIP:
            self._skip_depth = max(0, self._skip_depth - 1)
            return
        if tag == "head":
            self._in_head = False
        elif tag == "title":
            self._in_title = False
        elif tag == "pre":
            self._in_pre = max(0, self._in_pre - 1)
        if tag in self.BLOCK:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if self._skip_depth or (self._in_head and not self._in_title):
            return
        if self._in_pre:
            self.parts.append(data)
        else:  # HTML collapses whitespace outside <pre>; so do we, or wrapped source lines leak through
            self.parts.append(re.sub(r"\s+", " ", data))


def html_to_text(markup: str) -> str:
    """Visible text of an HTML page (stdlib parser; tolerant of broken markup)."""
    parser = _HTMLText()
    try:
        parser.feed(markup)
        parser.close()
    except Exception:  # pragma: no cover - html.parser is very forgiving; never lose a whole corpus to it
        return html.unescape(re.sub(r"<[^>]+>", " ", markup))
    return "".join(parser.parts)


def _read_text(path: Path) -> str:
    data = path.read_bytes()
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return data.decode("latin-1")  # never fails; RFCs and old manuals are ASCII/Latin-1 anyway


def load_documents(directory: str | Path, *, recursive: bool = True) -> list[Document]:
    """Read every .txt/.md/.html/.htm file under ``directory`` (sorted by path, so runs are reproducible).

    Text is returned raw (HTML already converted to text); call :func:`clean_text` next. Files are read
    as UTF-8, falling back to cp1252/Latin-1 rather than failing on one odd byte. Raises CorpusError if the
    folder does not exist.
    """
    root = Path(directory).expanduser()
    if not root.exists():
        raise CorpusError(f"corpus folder {str(directory)!r} does not exist")
    if not root.is_dir():
        raise CorpusError(f"corpus path {str(directory)!r} is not a folder")
    pattern = root.rglob("*") if recursive else root.glob("*")
    docs: list[Document] = []
    # Shallow paths first, then by name: dedupe keeps the first copy, and originals usually sit at the top
    # while mirrors and copies live in sub-folders.
    files = sorted((p for p in pattern if p.is_file() and p.suffix.lower() in SUFFIXES),
                   key=lambda p: (len(p.relative_to(root).parts), p.relative_to(root).as_posix()))
    for path in files:
        if any(part.startswith(".") for part in path.relative_to(root).parts):
            continue  # hidden files and folders (.git, editor swap files)
        fmt = SUFFIXES[path.suffix.lower()]
        raw = _read_text(path)
        text = html_to_text(raw) if fmt == "html" else raw
        docs.append(Document(id=path.relative_to(root).as_posix(), source=str(path.resolve()), format=fmt,
                             text=text))
    return docs


# ---- cleaning ----------------------------------------------------------------------------------------

_MONTHS = r"(?:January|February|March|April|May|June|July|August|September|October|November|December)"
# RFC / Internet-Draft running headers and footers (RFC 7322 layout): they repeat every page and would be
# learnt as if they were content.
RFC_PAGE_LINES: tuple[re.Pattern[str], ...] = (
    re.compile(r"^\s*(?:RFC|Internet[- ]Draft)\b.{0,80}\s{2,}.*\b" + _MONTHS + r"\s+\d{4}\s*$", re.IGNORECASE),
    re.compile(r"^\s*RFC \d{3,5}\s{2,}\S.*\s{2,}\S.*$"),
    re.compile(r"^.{0,100}\s{2,}\[Page \d+\]\s*$"),
    re.compile(r"^\s*\[Page \d+\]\s*$"),
    re.compile(r"^.*\bExpires:?\s+" + _MONTHS + r"\s+\d{1,2},?\s+\d{4}\s+\[Page \d+\]\s*$", re.IGNORECASE),
)
# Lines that are navigation, legal or print chrome rather than prose (mostly from saved web pages).
BOILERPLATE_LINES: tuple[re.Pattern[str], ...] = (
    re.compile(r"^\s*(?:skip to (?:main )?content|back to top|print(?: this page)?|share(?: this)?|"
               r"table of contents|contents|menu|home|search|log ?in|sign (?:in|up)|next|previous|"
               r"cookie (?:settings|preferences)|accept(?: all)?(?: cookies)?)\s*[:|>»]?\s*$", re.IGNORECASE),
    re.compile(r"^\s*(?:this (?:site|website) uses cookies|we use cookies)\b.*$", re.IGNORECASE),
    re.compile(r"^\s*(?:©|\(c\)|copyright\b).{0,120}all rights reserved\.?\s*$", re.IGNORECASE),
    re.compile(r"^\s*page \d+ (?:of|/) \d+\s*$", re.IGNORECASE),
    re.compile(r"^\s*[-=_*#~.·•|]{3,}\s*$"),  # rules and separators
    re.compile(r"^\s*\d{1,4}\s*$"),  # bare page numbers
    re.compile(r"^.{1,120}?(?:\s?\.){4,}\s*\d+\s*$"),  # table-of-contents dot leaders: "1. Intro ....... 4"
)
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"), None)


def clean_text(text: str, *, boilerplate: Sequence[re.Pattern[str]] | None = None) -> str:
    """Normalise and de-noise one document's text; returns ``""`` when nothing useful is left.

    * Unicode NFKC (ligatures, full-width forms, non-breaking spaces become plain characters), invisible
      characters (zero-width, soft hyphen, BOM) removed, line endings unified, form feeds dropped;
    * RFC / Internet-Draft page headers and footers removed (:data:`RFC_PAGE_LINES`);
    * boilerplate lines removed (:data:`BOILERPLATE_LINES`, or ``boilerplate`` to replace them);
    * trailing spaces stripped, runs of spaces inside a line collapsed (leading indentation is kept: it
      carries the structure of configurations and ASCII tables), runs of blank lines collapsed to one.
    """
    patterns = tuple(boilerplate) if boilerplate is not None else BOILERPLATE_LINES
    text = unicodedata.normalize("NFKC", text).translate(_INVISIBLE)
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\f", "\n").replace("\v", "\n")
    text = text.expandtabs(4)
    out: list[str] = []
    for raw in text.split("\n"):
        line = raw.rstrip()
        if not line:
            out.append("")
            continue
        if any(p.match(line) for p in RFC_PAGE_LINES) or any(p.match(line) for p in patterns):
            continue
        indent = len(line) - len(line.lstrip(" "))
        body = re.sub(r"[ \u00a0]{2,}", " ", line.strip())
        out.append(" " * min(indent, 8) + body)
    cleaned = "\n".join(out)
    cleaned = re.sub(r"\n{3,}", "\n\n", cleaned)
    return cleaned.strip("\n").rstrip()


def clean_documents(docs: Iterable[Document], *,
                    boilerplate: Sequence[re.Pattern[str]] | None = None) -> tuple[list[Document], list[str]]:
    """Clean each document and guess its language; returns (non-empty documents, ids of emptied ones)."""
    kept: list[Document] = []
    emptied: list[str] = []
    for doc in docs:
        text = clean_text(doc.text, boilerplate=boilerplate)
        if not text.strip():
            emptied.append(doc.id)
            continue
        kept.append(doc.model_copy(update={"text": text, "language": guess_language(text)}))
    return kept, emptied


# ---- language ----------------------------------------------------------------------------------------

# Heuristic only: the share of a text's words that are common function words of each language. Good enough
# to flag a German manual in an English corpus; not a language identifier (no n-gram model, no scripts).
_STOPWORD_TEXT = {
    "en": "the of and to in is that for it as with be on are this by an from or which not at was can if its "
          "has have when than these must may should will all each",
    "de": "der die das und ist nicht ein eine den dem des mit auf für von zu im sich auch wird werden oder "
          "wenn bei einer eines kann sind wie nach über durch",
    "fr": "le la les et est des une un du dans pour que qui sur pas au aux ce cette sont avec par ou il elle "
          "peut être plus leur entre lorsque",
    "es": "el la los las y es del una un en para que por con se al lo su sus como más pero este esta son "
          "entre cuando puede ser también",
}
_STOPWORDS: dict[str, frozenset[str]] = {lang: frozenset(words.split()) for lang, words in _STOPWORD_TEXT.items()}
LANGUAGES = (*_STOPWORDS, "other")
_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)  # letters only: for the language guess
_TOKEN = re.compile(r"\w+", re.UNICODE)  # letters and digits: for shingles (RFC numbers, addresses count)


def guess_language(text: str, *, min_words: int = 8, min_ratio: float = 0.08) -> str:
    """``en``/``de``/``fr``/``es`` by stopword ratio, else ``other`` (too short, code, tables, other
    languages). A heuristic: see the module docstring."""
    words = [w.casefold() for w in _WORD.findall(text[:20000])]
    if len(words) < min_words:
        return "other"
    scores = {lang: sum(w in stop for w in words) / len(words) for lang, stop in _STOPWORDS.items()}
    best = max(scores, key=lambda lang: scores[lang])
    return best if scores[best] >= min_ratio else "other"


# ---- deduplication -----------------------------------------------------------------------------------

_MERSENNE = np.uint64((1 << 61) - 1)


def normalise_for_hash(text: str) -> str:
    """Case-folded text with all whitespace runs collapsed: copies differing only in layout hash equal."""
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def text_hash(text: str) -> str:
    """SHA-256 of :func:`normalise_for_hash` (the exact-duplicate key)."""
    return hashlib.sha256(normalise_for_hash(text).encode()).hexdigest()


def shingle_hashes(text: str, size: int = DEFAULT_SHINGLE) -> np.ndarray:
    """Unique 32-bit hashes of the word ``size``-grams of a text (the whole text if it is shorter)."""
    norm = normalise_for_hash(text)
    words = _TOKEN.findall(norm) or norm.split()
    if not words:
        return np.zeros(0, dtype=np.uint64)
    grams = [" ".join(words[i:i + size]) for i in range(max(1, len(words) - size + 1))]
    values = [int.from_bytes(hashlib.blake2b(g.encode(), digest_size=4).digest(), "little") for g in grams]
    return np.unique(np.asarray(values, dtype=np.uint64))


def _permutations(num_perm: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    # a, b < 2**32 and x < 2**32: a*x + b < 2**64, so uint64 arithmetic is exact before the mod p.
    a = rng.integers(1, 1 << 32, size=num_perm, dtype=np.uint64)
    b = rng.integers(0, 1 << 32, size=num_perm, dtype=np.uint64)
    return a, b


def minhash_signature(hashes: np.ndarray, a: np.ndarray, b: np.ndarray, *, chunk: int = 4096) -> np.ndarray:
    """MinHash signature: per permutation ``h(x) = (a*x + b) mod (2**61 - 1)``, the minimum over shingles."""
    sig = np.full(a.shape[0], np.iinfo(np.uint64).max, dtype=np.uint64)
    for start in range(0, hashes.shape[0], chunk):
        block = hashes[start:start + chunk, None]
        sig = np.minimum(sig, ((block * a[None, :] + b[None, :]) % _MERSENNE).min(axis=0))
    return sig


@functools.lru_cache(maxsize=32)
def lsh_params(threshold: float, num_perm: int, *, fp_weight: float = 0.1,
               fn_weight: float = 0.9) -> tuple[int, int]:
    """(bands, rows) minimising weighted false-positive/false-negative area of the LSH S-curve.

    False negatives weigh more because every candidate is verified by its true shingle Jaccard, so a
    false positive only costs a comparison while a false negative leaves a duplicate in the corpus.
    """
    xs = np.linspace(0.0, 1.0, 201)
    best, best_cost = (1, num_perm), float("inf")
    for rows in range(1, num_perm + 1):
        for bands in range(1, num_perm // rows + 1):
            prob = 1.0 - (1.0 - xs ** rows) ** bands
            fp = np.trapezoid(np.where(xs < threshold, prob, 0.0), xs)
            fn = np.trapezoid(np.where(xs >= threshold, 1.0 - prob, 0.0), xs)
            cost = fp_weight * fp + fn_weight * fn
            if cost < best_cost - 1e-12:
                best, best_cost = (bands, rows), cost
    return best


def jaccard(a: np.ndarray, b: np.ndarray) -> float:
    """Jaccard similarity of two sorted unique hash arrays."""
    if a.size == 0 and b.size == 0:
        return 1.0
    inter = np.intersect1d(a, b, assume_unique=True).size
    return inter / (a.size + b.size - inter)


def _text_of(doc: object) -> str:
    return doc if isinstance(doc, str) else str(getattr(doc, "text"))  # noqa: B009


def _id_of(doc: object, index: int) -> str:
    return str(getattr(doc, "id", index))


def dedupe(docs: Sequence[T], *, threshold: float = DEFAULT_NEAR_THRESHOLD, num_perm: int = DEFAULT_NUM_PERM,
           shingle_size: int = DEFAULT_SHINGLE, seed: int = 0, near: bool = True) -> tuple[list[T], DedupeReport]:
    """Drop exact and near duplicates, keeping the first occurrence; returns (kept, report).

    ``docs`` are :class:`Document` objects or plain strings (anything with ``.text``/``.id`` works).
    Exact: equal :func:`text_hash`. Near: MinHash (``num_perm`` permutations) over word
    ``shingle_size``-grams, LSH banding tuned to ``threshold`` (:func:`lsh_params`), each candidate pair
    then verified by the exact Jaccard of the two shingle sets, so reported similarities are real, not
    estimates. Greedy and order-preserving: a document is compared only with documents already kept.
    """
    if not 0.0 < threshold <= 1.0:
        raise ValueError(f"near-duplicate threshold must be in (0, 1], got {threshold}")
    if num_perm < 1 or shingle_size < 1:
        raise ValueError("num_perm and shingle_size must be >= 1")
    bands, rows = lsh_params(threshold, num_perm)
    a, b = _permutations(num_perm, seed)
    seen: dict[str, int] = {}
    kept: list[T] = []
    kept_ids: list[str] = []
    kept_shingles: list[np.ndarray] = []
    buckets: list[dict[bytes, list[int]]] = [{} for _ in range(bands)]
    pairs: list[DuplicatePair] = []
    exact = near_count = 0
    for index, doc in enumerate(docs):
        text = _text_of(doc)
        doc_id = _id_of(doc, index)
        key = text_hash(text)
        if key in seen:
            exact += 1
            pairs.append(DuplicatePair(removed=doc_id, kept=kept_ids[seen[key]], kind="exact", similarity=1.0))
            continue
        shingles = shingle_hashes(text, shingle_size)
        band_keys: list[bytes] = []
        if near:
            sig = minhash_signature(shingles, a, b)
            band_keys = [sig[i * rows:(i + 1) * rows].tobytes() for i in range(bands)]
            candidates = sorted({j for i, k in enumerate(band_keys) for j in buckets[i].get(k, ())})
            best_j, best_sim = -1, 0.0
            for j in candidates:
                sim = jaccard(shingles, kept_shingles[j])
                if sim > best_sim:
                    best_j, best_sim = j, sim
            if best_j >= 0 and best_sim >= threshold:
                near_count += 1
                pairs.append(DuplicatePair(removed=doc_id, kept=kept_ids[best_j], kind="near",
                                           similarity=round(best_sim, 4)))
                continue
        position = len(kept)
        seen[key] = position
        kept.append(doc)
        kept_ids.append(doc_id)
        kept_shingles.append(shingles)
        for i, k in enumerate(band_keys):
            buckets[i].setdefault(k, []).append(position)
    report = DedupeReport(input_documents=len(docs), kept_documents=len(kept), exact_removed=exact,
                          near_removed=near_count, threshold=threshold, num_perm=num_perm, bands=bands, rows=rows,
                          shingle_size=shingle_size, pairs=pairs)
    return kept, report


# ---- packing and splitting ---------------------------------------------------------------------------


def pack_blocks(token_ids_per_doc: Iterable[Sequence[int]], block_size: int, eos_id: int | None, *,
                pad_id: int | None = None) -> list[list[int]]:
    """Concatenate documents (each followed by ``eos_id`` when given) and cut into ``block_size`` blocks.

    Packing wastes no compute on padding, and the EOS separator tells the model where one document ends.
    The tail shorter than a block is dropped, unless ``pad_id`` is given: then it is padded to a full block
    (the trainer must then mask ``pad_id`` out of the loss). Every returned block has exactly
    ``block_size`` ids; an empty list means the corpus is smaller than one block.
    """
    if block_size < 1:
        raise ValueError(f"block_size must be >= 1, got {block_size}")
    stream: list[int] = []
    blocks: list[list[int]] = []
    for ids in token_ids_per_doc:
        stream.extend(int(t) for t in ids)
        if eos_id is not None:
            stream.append(int(eos_id))
        while len(stream) >= block_size:
            blocks.append(stream[:block_size])
            del stream[:block_size]
    if stream and pad_id is not None:
        blocks.append(stream + [int(pad_id)] * (block_size - len(stream)))
    return blocks


def split_documents(docs: Sequence[T], held_out: float = 0.1, *, seed: int = 0) -> tuple[list[T], list[T]]:
    """Split by document into (train, held-out) with a seeded shuffle; both keep the input order.

    Splitting by document (not by block) keeps held-out perplexity honest: no held-out text is seen in
    training. With ``held_out > 0`` and at least two documents, each side gets at least one document.
    """
    if not 0.0 <= held_out < 1.0:
        raise ValueError(f"held_out must be in [0, 1), got {held_out}")
    n = len(docs)
    n_held = round(n * held_out)
    if held_out > 0 and n >= 2:
        n_held = min(max(n_held, 1), n - 1)
    order = list(range(n))
    random.Random(seed).shuffle(order)
    held_idx = set(order[:n_held])
    train = [d for i, d in enumerate(docs) if i not in held_idx]
    held = [d for i, d in enumerate(docs) if i in held_idx]
    return train, held


# ---- one call for the trainer and the CLI --------------------------------------------------------------


class PreparedCorpus(BaseModel):
    """Loaded, cleaned, deduplicated documents plus what was dropped on the way."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    documents: list[Document]
    found: int
    emptied: list[str]
    dedupe: DedupeReport


def prepare_corpus(directory: str | Path, *, threshold: float = DEFAULT_NEAR_THRESHOLD,
                   num_perm: int = DEFAULT_NUM_PERM, shingle_size: int = DEFAULT_SHINGLE, near: bool = True,
                   seed: int = 0) -> PreparedCorpus:
    """:func:`load_documents` -> :func:`clean_documents` -> :func:`dedupe`, as ``twinops data corpus`` does.

    Raises CorpusError when the folder holds no supported document.
    """
    raw = load_documents(directory)
    if not raw:
        raise CorpusError(f"no .txt/.md/.html/.htm documents under {str(directory)!r}")
    cleaned, emptied = clean_documents(raw)
    kept, report = dedupe(cleaned, threshold=threshold, num_perm=num_perm, shingle_size=shingle_size,
                          near=near, seed=seed)
    return PreparedCorpus(documents=kept, found=len(raw), emptied=emptied, dedupe=report)


def token_counter(tokenizer_path: str | Path | None) -> tuple[Callable[[str], int], str]:
    """A token counter and a description of it: the tokenizer at ``tokenizer_path`` (local files only),
    else a whitespace word count (``"whitespace"``: an approximation, not model tokens)."""
    if tokenizer_path is None:
        return (lambda text: len(text.split())), "whitespace"
    from transformers import AutoTokenizer

    try:
        tok = AutoTokenizer.from_pretrained(str(tokenizer_path), local_files_only=True)
    except (OSError, ValueError) as exc:
        raise CorpusError(f"cannot load a tokenizer from {str(tokenizer_path)!r}: {exc}") from exc
    return (lambda text: len(tok(text, add_special_tokens=False)["input_ids"])), f"hf:{tokenizer_path}"
