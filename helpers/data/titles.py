"""Short texts for fine-tuning (Part III): Reddit titles from a CSV, or one-line facts offline.

gpt-2-simple's short-text recipe: each title of a one-column CSV becomes one document
``<|startoftext|>title<|endoftext|>``, so the model learns where a title starts and stops. The
default data are the 2,000 real Reddit titles of minimaxir/textgenrnn (MIT), half from r/politics
and half from r/rarepuppers, downloaded once from GitHub and cached. With no network we say so and
use randfacts' 7,193 one-line facts (from PyPI, see assets.py) instead. Either way each text comes
with a category, the "control prefix" we condition on: the subreddit, or whether a fact has a number.

``COURSE_TITLES_URL`` replaces the download's URL (a mirror, or a local server on a machine with no
internet). Each URL has its own cache file, and a file whose sha256 is that of textgenrnn's CSV is
announced as textgenrnn's titles whatever URL it came from; any other file is named by its URL.
"""
from __future__ import annotations

import csv
import functools
import hashlib
import io
import os
import re
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from helpers.course.runtime import cache_dir

from .assets import AssetError, asset_path

REDDIT_TITLES_URL = ("https://raw.githubusercontent.com/minimaxir/textgenrnn/master/datasets/"
                     "reddit_rarepuppers_politics_2000_context.csv")
REDDIT_TITLES_SHA256 = "6c0ad9a6c308cb1e03e1f812960264093f134c7866c2167ae413f7d862355ccb"  # 139,085 bytes
URL_ENV = "COURSE_TITLES_URL"  # replaces REDDIT_TITLES_URL, e.g. a local server's http://127.0.0.1:8000/....csv
FACTS_MEMBER = "randfacts/safe.txt"
START, END = "<|startoftext|>", "<|endoftext|>"


class DownloadError(OSError):
    """A download failed; the message says why and what to do, in one line (``reason``: why, short)."""

    def __init__(self, message: str, reason: str = ""):
        super().__init__(message)
        self.reason = reason or message


# --- reading a CSV ---------------------------------------------------------------------------------

def _read_csv(path: str | Path) -> tuple[list[str], list[dict]]:
    """Return (column names, rows as dicts) of a UTF-8 CSV with a header row; one-line errors."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no CSV file at {path}: check the path (relative paths start in {Path.cwd().name}/)")
    try:
        text = path.read_bytes().decode("utf-8-sig")  # -sig: spreadsheets often write a BOM first
    except UnicodeDecodeError as e:
        raise ValueError(f"{path.name} is not UTF-8 text (byte {e.start}): re-save it as UTF-8 "
                         f"(in a spreadsheet: 'CSV UTF-8')") from None
    if not text.strip():
        raise ValueError(f"{path.name} is empty: give a CSV with a header row (e.g. title) and one text per row")
    reader = csv.DictReader(io.StringIO(text))
    rows = list(reader)
    return [name for name in (reader.fieldnames or [])], rows


def _column(path: str | Path, names: list[str], rows: list[dict], column: str) -> list[str]:
    """Return the non-empty, whitespace-normalised values of ``column``; one-line error if absent."""
    if column not in names:
        raise ValueError(f"{Path(path).name} has no column {column!r} (its columns: "
                         f"{', '.join(repr(n) for n in names)}): pass column= one of those")
    return [" ".join((row[column] or "").split()) for row in rows]


def load_titles_csv(path: str | Path, column: str = "title") -> list[str]:
    """Return the non-empty texts of ``column`` of a UTF-8 CSV with a header row, in file order."""
    names, rows = _read_csv(path)
    texts = [t for t in _column(path, names, rows, column) if t]
    if not texts:
        raise ValueError(f"{Path(path).name} has a column {column!r} but no text in it: add one text per row")
    return texts


# --- download and cache ----------------------------------------------------------------------------

def titles_url() -> str:
    """Return the URL of the default titles: ``COURSE_TITLES_URL`` if set, else textgenrnn's on GitHub."""
    return os.environ.get(URL_ENV, "").strip() or REDDIT_TITLES_URL


def cache_name(url: str) -> str:
    """Return the cache file name of ``url``: its last part plus a hash of the whole URL.

    Two URLs never share a cache file, so a copy from one source is never taken for another's.
    """
    name = url.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1] or "download.csv"
    stem, dot, suffix = name.rpartition(".")
    tag = hashlib.sha256(url.encode("utf-8")).hexdigest()[:10]
    return f"{stem}-{tag}.{suffix}" if dot else f"{name}-{tag}"


def download_titles(url: str | None = None, filename: str | None = None, timeout: float = 20) -> Path:
    """Return the cached path of the CSV at ``url`` (default ``titles_url()``), downloading it once."""
    url = url or titles_url()
    target = cache_dir() / "titles" / (filename or cache_name(url))
    if target.exists():
        return target  # cached: no network at all
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            data = response.read()
    except urllib.error.HTTPError as e:
        raise DownloadError(f"could not download {url}: HTTP {e.code} {e.reason}; check the URL, or save "
                            f"the CSV yourself and pass its path as load_titles(path=...)",
                            f"HTTP {e.code} {e.reason}") from None
    except (urllib.error.URLError, OSError) as e:  # no route, refused, DNS, timeout
        reason = getattr(e, "reason", e)
        raise DownloadError(f"could not download {url} ({reason}): no network? Connect, or save the CSV "
                            f"yourself and pass its path as load_titles(path=...)", str(reason)) from None
    if not data.strip():
        raise DownloadError(f"{url} sent an empty file: check the URL")
    tmp = target.with_name(f"{target.name}.{os.getpid()}.part")  # written aside, then renamed: never half a file
    tmp.write_bytes(data)
    os.replace(tmp, target)
    return target


# --- the data set the notebook uses ----------------------------------------------------------------

@functools.lru_cache(maxsize=1 << 16)  # nearest() compares each new text with every training text
def word_set(text: str) -> frozenset[str]:
    """Return the set of lower-case words (letters, digits, apostrophes) of ``text``."""
    return frozenset(re.findall(r"[a-z0-9']+", text.lower()))


def jaccard(a: str, b: str) -> float:
    """Return the Jaccard similarity of two texts' word sets: |A ∩ B| / |A ∪ B| (1.0 if both empty)."""
    A, B = word_set(a), word_set(b)
    return len(A & B) / len(A | B) if A | B else 1.0


def nearest(text: str, corpus: list[str]) -> tuple[int, float]:
    """Return (index, Jaccard similarity) of the text in ``corpus`` whose word set is closest to ``text``.

    A text with no words (a stray "]", an emoji) is near nothing: (0, 0.0). Otherwise it would
    score 1.0 against any wordless text of the corpus, which says nothing about copying.
    """
    if not corpus:
        raise ValueError("nearest(...) needs a non-empty corpus of texts to compare with")
    A = word_set(text)
    if not A:
        return 0, 0.0
    best, best_score = 0, -1.0
    for i, other in enumerate(corpus):
        B = word_set(other)
        score = len(A & B) / len(A | B) if A | B else 1.0
        if score > best_score:
            best, best_score = i, score
    return best, best_score


def fact_category(text: str) -> str:
    """Return "number" if the fact contains a digit, else "no number": a category a rule can check."""
    return "number" if re.search(r"\d", text) else "no number"


@dataclass
class TitleSet:
    """Short texts, each with a category (its control prefix), and a judge for new texts' categories."""

    texts: list[str]
    labels: list[str] | None
    source: str  # one line: what the texts are and where they come from
    judge: Callable[[str], str] | None = field(default=None, repr=False)

    def __len__(self) -> int:
        return len(self.texts)

    def category_of(self, text: str) -> str:
        """Return the category the judge gives ``text`` (a rule for facts, the nearest title's label else)."""
        if self.judge is not None:
            return self.judge(text)
        if self.labels is None:
            raise ValueError("these texts have no categories: load a CSV with a label column (label_column=...)")
        return self.labels[nearest(text, self.texts)[0]]


def load_facts() -> TitleSet:
    """Return randfacts' 7,193 one-line facts, each labelled "number" or "no number"."""
    path = asset_path("randfacts", FACTS_MEMBER)
    texts = [" ".join(line.split()) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return TitleSet(texts, [fact_category(t) for t in texts],
                    f"{len(texts):,} one-line facts from randfacts (MIT), category: has a number or not",
                    judge=fact_category)


def load_titles(path: str | Path | None = None, column: str = "title", label_column: str | None = "context_label",
                url: str | None = None, timeout: float = 20) -> TitleSet:
    """Return the titles to fine-tune on: ``path``'s CSV, else the Reddit titles, else (offline) facts.

    The Reddit CSV (from ``url``, default ``titles_url()``) is downloaded once and cached; if that
    fails, a one-line note is printed and randfacts' facts come back instead, so the same notebook
    runs with or without a network. ``source`` says which data came back.
    """
    if path is None:
        url = url or titles_url()
        try:
            path = download_titles(url, timeout=timeout)
        except DownloadError as e:
            try:
                facts = load_facts()
            except AssetError:
                raise DownloadError(f"{e} (and the offline fallback, randfacts from PyPI, is not available "
                                    f"either)") from None
            print(f"The Reddit titles could not be downloaded (no network? {e.reason}), "
                  f"so we use {facts.source}.")
            return facts
        digest = hashlib.sha256(Path(path).read_bytes()).hexdigest()
        if digest == REDDIT_TITLES_SHA256:
            source = f"Reddit titles from minimaxir/textgenrnn (MIT; sha256 {digest[:12]}…, textgenrnn's file)"
        else:
            source = f"titles downloaded from {url} (sha256 {digest[:12]}…, not textgenrnn's file)"
    else:
        source = f"titles from {Path(path).name}"
    names, rows = _read_csv(path)
    texts = _column(path, names, rows, column)
    labels = _column(path, names, rows, label_column) if label_column and label_column in names else None
    keep = [i for i, t in enumerate(texts) if t]
    if not keep:
        raise ValueError(f"{Path(path).name} has a column {column!r} but no text in it: add one text per row")
    texts = [texts[i] for i in keep]
    labels = [labels[i] or "none" for i in keep] if labels else None
    if labels:
        source += f", category: {label_column} ({', '.join(sorted(set(labels)))})"
    return TitleSet(texts, labels, f"{len(texts):,} {source}")


# --- documents ---------------------------------------------------------------------------------

def control_prefix(label: str) -> str:
    """Return the control prefix that conditions a document on ``label``: "[label] "."""
    return f"[{label}] "


def make_document(text: str, label: str | None = None) -> str:
    """Return one document: ``<|startoftext|>[label] text<|endoftext|>`` (no ``[label] `` if None)."""
    if START in text or END in text:
        raise ValueError(f"a text already contains {START} or {END} ({text[:40]!r}...): pass plain texts")
    return f"{START}{control_prefix(label) if label else ''}{text}{END}"


def to_documents(texts: list[str], context: str | list[str] | None = None) -> list[str]:
    """Return ``<|startoftext|>[context] text<|endoftext|>`` documents (no ``[context] `` if None).

    ``context`` is one label for all texts or one label per text, e.g. each title's subreddit.
    """
    texts = [texts] if isinstance(texts, str) else list(texts)
    if context is None or isinstance(context, str):
        context = [context] * len(texts)
    context = list(context)
    if len(context) != len(texts):
        raise ValueError(f"{len(texts)} texts but {len(context)} context labels: give one label per text, "
                         f"or one string for all")
    return [make_document(text, label) for text, label in zip(texts, context)]


def parse_sample(sample: str, labels=None) -> tuple[str | None, str | None]:
    """Return (label, title) of a sample generated after ``<|startoftext|>`` without ``truncate``.

    The title is the text before the first ``<|endoftext|>``, its ``[label] `` prefix split off.
    It is None when the sample never closed its document (no end marker), left it empty, or, if
    ``labels`` are given (the categories every training document began with), did not begin with
    ``[one of them] ``: then the model did not start a document, it continued some other text.
    """
    if END not in sample:
        return None, None
    text = sample.split(END, 1)[0]
    match = re.match(r"\[([^\]\n]*)\] (.*)", text, re.S)
    label, title = (match[1], match[2]) if match else (None, text)
    title = " ".join(title.split())
    if not title or START in title or (labels is not None and label not in set(labels)):
        return label, None
    return label, title
