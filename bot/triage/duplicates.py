"""Likely duplicates of an issue: words, meaning and error messages, each its own channel.

Three similarities, each a cosine in [0, 1], combined into one score:

- ``lexical``: TF-IDF over the words and word pairs of the cleaned title and body (the title
  counted twice), hashed into a fixed number of columns so no vocabulary is stored;
- ``embedding``: the triage encoder's unit-length (title + body) embedding;
- ``errors``: TF-IDF over the *error signatures* of the raw text: exception classes and
  their normalised messages (``ValueError: shapes (3,) and (4,) not aligned``), Python and
  JavaScript stack frames (file and function, not the line number, which changes between
  versions), TensorFlow/CUDA/cuDNN status lines. Two reports of one crash share these even
  when their authors describe it in different words, and two different crashes of one
  component do not, however alike their prose.

The score is a weighted mean of the channels that apply: the error channel only counts when
the new issue has an error signature (a feature request is not penalised for having none),
so a score stays comparable across issues and the threshold of
``triage.duplicates.similarity_threshold`` means one thing. Pure: plain values in, plain
values out; NumPy only (no SciPy, no model: the caller passes embeddings).

Search is an inverted index over the hashed terms (one ``bincount`` over the postings of the
query's terms) and one matrix-vector product for the embeddings. Terms that occur in more
than :data:`COMMON_SHARE` of a large index (stop words) are skipped at query time: their
IDF is near the floor and their postings would be most of the work.
"""

from __future__ import annotations

import re
import zlib
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np

from bot.triage.text import clean_body, clean_title

HASH_DIM = 2**20
"""Hashed columns of the lexical and error channels (collisions are rare at this size)."""
COMMON_SHARE = 0.1
COMMON_MIN_DOCS = 2000
"""A query term is skipped when more than ``COMMON_SHARE`` of the issues hold it, once the
index has at least ``COMMON_MIN_DOCS`` issues (small indexes score every term)."""
TITLE_REPEAT = 2
MAX_ERROR_TEXT = 200_000  # characters of a body scanned for error signatures


@dataclass(frozen=True)
class Weights:
    """How much each channel counts in the combined score (renormalised over the channels
    that apply to a query: without an error signature, lexical 2/3 and embedding 1/3).
    Chosen on the pairs of research/duplicates (docs/duplicates.md has the grid)."""

    lexical: float = 0.4
    embedding: float = 0.2
    errors: float = 0.4

    def to_json(self) -> dict[str, float]:
        return {"lexical": self.lexical, "embedding": self.embedding, "errors": self.errors}


DEFAULT_WEIGHTS = Weights()
LEXICAL_ONLY = Weights(lexical=1.0, embedding=0.0, errors=0.0)


# -- terms --------------------------------------------------------------------------------

_WORD = re.compile(r"[a-z][a-z0-9_]+")


def _words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def text_terms(title: str, body: str) -> Counter[str]:
    """Words and word pairs of the cleaned title (counted :data:`TITLE_REPEAT` times: a
    title says what the issue is about) and of the cleaned body."""
    counts: Counter[str] = Counter()
    for words, times in ((_words(clean_title(title)), TITLE_REPEAT), (_words(clean_body(body)), 1)):
        for _ in range(times):
            counts.update(words)
            counts.update(f"{a} {b}" for a, b in zip(words, words[1:], strict=False))
    return counts


_EXCEPTION = re.compile(
    r"(?:^|[\s:(\[])((?:[A-Za-z_][\w]*\.)*"
    r"[A-Z][A-Za-z0-9_]*(?:Error|Exception|Exit|Interrupt|Fault|Warning))\b(?::[ \t]*([^\n]*))?"
)
_PY_FRAME = re.compile(r'File "([^"\n]+)", line \d+, in ([\w<>.]+)')
_JS_FRAME = re.compile(r"^\s*at ([\w$.<>\[\] ]+?) \(([^()\n]+?)(?::\d+){1,2}\)", re.MULTILINE)
_NATIVE_STATUS = re.compile(
    r"\b(CUDA(?:_ERROR_\w+| error: [^\n.]+)|cuda\w*Error\w*|CUBLAS_STATUS_\w+|CUDNN_STATUS_\w+"
    r"|NCCL \w+ error|Segmentation fault|core dumped|illegal memory access"
    r"|out of memory|OOM when allocating|Could not load dynamic library '[^']+'"
    r"|Assertion [`'\"][^\n]{1,200}?[`'\"] failed)",
    re.IGNORECASE,
)
_TF_LOG = re.compile(  # absl / TensorFlow C++ log lines: "E0000 00:00:17.1 123 file.cc:535] msg"
    r"\b[EFW]\d{0,4}\s+(?:[\d:.]+\s+\d+\s+)?(?:[\w/.-]+/)?([\w.-]+\.(?:cc|h|cpp|c)):\d+\]\s*([^\n]*)"
)
_ERROR_HEADING = re.compile(
    r"^\s*#{1,6}\s*[^\n]*\b(error|exception|traceback|stack ?trace|log output)\b[^\n]*\n"
    r"(?:\s*(?:```\w*|_no response_)?\s*\n)*\s*([^\n`][^\n]{3,})",
    re.IGNORECASE | re.MULTILINE,
)
_NUMBERISH = re.compile(r"0x[0-9a-f]+|\d+(?:\.\d+)*")
_QUOTED = re.compile(r"(['\"`])[^'\"`\n]{0,200}?\1")
_PATHISH = re.compile(r"(?:[a-z]:)?(?:[\w.~-]*[/\\])+[\w.-]+")
_MESSAGE_CHARS = 160
_GENERIC_EXCEPTIONS = {"error", "exception", "warning"}


def normalise_message(message: str) -> str:
    """An error message with what varies between two reports of one error blanked:
    numbers, addresses, quoted names and paths; lower case, capped."""
    text = message.strip().lower()
    text = _PATHISH.sub("<path>", text)
    text = _QUOTED.sub("<q>", text)
    text = _NUMBERISH.sub("0", text)
    return " ".join(text.split())[:_MESSAGE_CHARS]


def error_signatures(title: str, body: str) -> Counter[str]:
    """The error signatures of an issue: ``exc:`` exception class, ``msg:`` class and
    normalised message, ``msgw:`` the message's words (a partial match still counts),
    ``frame:`` stack frames as file name and function, ``native:`` CUDA/cuDNN/TensorFlow
    status lines. Empty for an issue that quotes no error."""
    text = f"{title}\n{body[:MAX_ERROR_TEXT]}"
    out: Counter[str] = Counter()
    for match in _EXCEPTION.finditer(text):
        name = match.group(1).rsplit(".", 1)[-1]
        if name.lower() in _GENERIC_EXCEPTIONS:
            continue
        out[f"exc:{name}"] += 1
        message = normalise_message(match.group(2) or "")
        if message:
            out[f"msg:{name}:{message}"] += 1
            out.update(f"msgw:{w}" for w in set(_words(message)) if len(w) > 2)
    for _, line in _ERROR_HEADING.findall(text):
        # an issue form's "### Error message" answer: the message whatever its shape
        message = normalise_message(line)
        if message and not message.startswith(("at ", "file ", "traceback")):
            out[f"msg:{message}"] += 1
            out.update(f"msgw:{w}" for w in set(_words(message)) if len(w) > 2)
    for path, function in _PY_FRAME.findall(text):
        module = re.split(r"[/\\]", path)[-1]
        out[f"frame:{module}:{function}"] += 1
    for function, path in _JS_FRAME.findall(text):
        module = re.split(r"[/\\]", path)[-1]
        out[f"frame:{module}:{function.strip()}"] += 1
    for status in _NATIVE_STATUS.findall(text):
        out[f"native:{normalise_message(status)}"] += 1
    for source, message in _TF_LOG.findall(text):
        out[f"frame:{source.rsplit('/', 1)[-1]}"] += 1
        if message.strip():
            out[f"native:{normalise_message(message)}"] += 1
    return out


def hash_terms(counts: Mapping[str, int], dim: int = HASH_DIM) -> tuple[np.ndarray, np.ndarray]:
    """Distinct hashed columns (int32, sorted) and their sublinear term frequency
    ``1 + log(tf)`` (float32); two terms falling in one column add up."""
    if not counts:
        return np.zeros(0, np.int32), np.zeros(0, np.float32)
    cols = np.fromiter((zlib.crc32(t.encode("utf-8")) % dim for t in counts), np.int64, len(counts))
    tf = 1.0 + np.log(np.fromiter(counts.values(), np.float64, len(counts)))
    unique, inverse = np.unique(cols, return_inverse=True)
    summed = np.bincount(inverse, weights=tf)
    return unique.astype(np.int32), summed.astype(np.float32)


@dataclass(frozen=True)
class IssueFeatures:
    """What the index keeps of one issue's text: hashed terms, hashed error signatures, and
    its unit-length embedding (None: the lexical channels only)."""

    term_cols: np.ndarray
    term_tf: np.ndarray
    error_cols: np.ndarray
    error_tf: np.ndarray
    embedding: np.ndarray | None = None

    @property
    def has_errors(self) -> bool:
        return self.error_cols.size > 0


def issue_features(title: str, body: str, embedding: np.ndarray | None = None) -> IssueFeatures:
    """The features of one issue (``embedding``: the encoder's vector of the same text)."""
    term_cols, term_tf = hash_terms(text_terms(title, body))
    error_cols, error_tf = hash_terms(error_signatures(title, body))
    vector = None
    if embedding is not None:
        vector = np.asarray(embedding, dtype=np.float32).ravel()
        vector = vector / max(float(np.linalg.norm(vector)), 1e-12)
    return IssueFeatures(term_cols, term_tf, error_cols, error_tf, vector)


# -- the index ----------------------------------------------------------------------------


@dataclass(frozen=True)
class IndexedIssue:
    """One issue of the index: who it is, and its features."""

    number: int
    title: str
    features: IssueFeatures
    state: str = "open"
    closed_at: datetime | None = None
    html_url: str | None = None


@dataclass(frozen=True)
class Match:
    """One candidate duplicate: its number, the combined score and each channel's."""

    number: int
    score: float
    parts: dict[str, float]
    title: str = ""
    state: str = "open"
    html_url: str | None = None

    def to_json(self) -> dict[str, object]:
        return {
            "number": self.number,
            "score": round(self.score, 4),
            "parts": {k: round(v, 4) for k, v in self.parts.items()},
            "title": self.title,
            "state": self.state,
            "html_url": self.html_url,
        }


class _Postings:
    """An inverted index of hashed TF-IDF rows: for each column, the issues holding it and
    their unit-normalised weights."""

    def __init__(self, rows: Sequence[tuple[np.ndarray, np.ndarray]], dim: int) -> None:
        n = len(rows)
        self.n = n
        lengths = np.fromiter((c.size for c, _ in rows), np.int64, n)
        cols = np.concatenate([c for c, _ in rows]).astype(np.int64) if n else np.zeros(0, np.int64)
        tf = np.concatenate([t for _, t in rows]).astype(np.float32) if n else np.zeros(0)
        docs = np.repeat(np.arange(n, dtype=np.int32), lengths)
        self.df = np.bincount(cols, minlength=dim).astype(np.int32)
        self.idf = (np.log((1.0 + n) / (1.0 + self.df)) + 1.0).astype(np.float32)
        weights = tf * self.idf[cols]
        norms = np.sqrt(np.bincount(docs, weights=weights.astype(np.float64) ** 2, minlength=n))
        weights = weights / np.maximum(norms, 1e-12)[docs]
        order = np.argsort(cols, kind="stable")
        self.docs = docs[order]
        self.weights = weights[order].astype(np.float32)
        self.colptr = np.zeros(dim + 1, dtype=np.int64)
        np.cumsum(self.df, out=self.colptr[1:])
        self.common = (
            max(COMMON_SHARE * n, 1.0) if n >= COMMON_MIN_DOCS else float("inf")
        )  # df above which a query term is skipped

    @property
    def nbytes(self) -> int:
        return sum(a.nbytes for a in (self.df, self.idf, self.docs, self.weights, self.colptr))

    def scores(self, cols: np.ndarray, tf: np.ndarray) -> np.ndarray:
        """Cosine of the query's TF-IDF row with every issue's."""
        out = np.zeros(self.n, dtype=np.float64)
        if cols.size == 0 or self.n == 0:
            return out
        cols = cols.astype(np.int64)
        q = tf.astype(np.float64) * self.idf[cols]
        norm = float(np.linalg.norm(q))
        if norm == 0:
            return out
        q /= norm
        keep = self.df[cols] <= self.common
        cols, q = cols[keep], q[keep]
        starts, ends = self.colptr[cols], self.colptr[cols + 1]
        lengths = ends - starts
        total = int(lengths.sum())
        if total == 0:
            return out
        offsets = np.repeat(starts - np.cumsum(lengths) + lengths, lengths)
        idx = np.arange(total, dtype=np.int64) + offsets
        weights = self.weights[idx] * np.repeat(q, lengths)
        return np.bincount(self.docs[idx], weights=weights, minlength=self.n)


@dataclass
class DuplicateIndex:
    """The issues of one repository, ready to be searched for a new issue's duplicates."""

    issues: list[IndexedIssue]
    dim: int = HASH_DIM
    _lexical: _Postings = field(init=False, repr=False)
    _errors: _Postings = field(init=False, repr=False)
    _embeddings: np.ndarray | None = field(init=False, repr=False)
    _numbers: np.ndarray = field(init=False, repr=False)
    _closed_at: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        feats = [i.features for i in self.issues]
        self._lexical = _Postings([(f.term_cols, f.term_tf) for f in feats], self.dim)
        self._errors = _Postings([(f.error_cols, f.error_tf) for f in feats], self.dim)
        vectors = [f.embedding for f in feats]
        if feats and all(v is not None for v in vectors):
            self._embeddings = np.vstack(vectors).astype(np.float32)  # type: ignore[arg-type]
        else:
            self._embeddings = None
        self._numbers = np.array([i.number for i in self.issues], dtype=np.int64)
        self._closed_at = np.array(
            [i.closed_at.timestamp() if i.closed_at else np.inf for i in self.issues],
            dtype=np.float64,
        )

    def __len__(self) -> int:
        return len(self.issues)

    @property
    def has_embeddings(self) -> bool:
        return self._embeddings is not None

    @property
    def nbytes(self) -> int:
        """Memory of the search structures (not of the titles)."""
        emb = self._embeddings.nbytes if self._embeddings is not None else 0
        return self._lexical.nbytes + self._errors.nbytes + emb + self._numbers.nbytes

    def channel_scores(self, query: IssueFeatures) -> dict[str, np.ndarray]:
        """Each channel's similarity of ``query`` to every issue (in index order)."""
        out = {
            "lexical": self._lexical.scores(query.term_cols, query.term_tf),
            "errors": self._errors.scores(query.error_cols, query.error_tf),
        }
        if self._embeddings is not None and query.embedding is not None:
            out["embedding"] = np.clip(self._embeddings @ query.embedding, 0.0, 1.0)
        return out

    def search(
        self,
        query: IssueFeatures,
        k: int = 5,
        *,
        exclude: Iterable[int] = (),
        weights: Weights = DEFAULT_WEIGHTS,
        closed_after: datetime | None = None,
    ) -> list[Match]:
        """The ``k`` issues most similar to ``query``, best first. ``exclude``: issue numbers
        never returned (the query itself); ``closed_after``: closed issues closed before it
        are left out (open ones always count)."""
        if not self.issues or k <= 0:
            return []
        channels = self.channel_scores(query)
        wanted = {"lexical": weights.lexical, "embedding": weights.embedding}
        if query.has_errors:
            wanted["errors"] = weights.errors
        active = {name: w for name, w in wanted.items() if w > 0 and name in channels}
        if not active:  # an embedding-only weighting on an index without embeddings
            active = {"lexical": 1.0}
        total = sum(active.values())
        score = np.zeros(len(self.issues), dtype=np.float64)
        for name, w in active.items():
            score += (w / total) * channels[name]
        eligible = np.ones(len(self.issues), dtype=bool)
        excluded = list(exclude)
        if excluded:
            eligible &= ~np.isin(self._numbers, np.array(excluded, dtype=np.int64))
        if closed_after is not None:
            eligible &= self._closed_at >= closed_after.timestamp()
        score[~eligible] = -1.0
        k = min(k, int(eligible.sum()))
        if k == 0:
            return []
        top = np.argpartition(-score, k - 1)[:k]
        top = top[np.lexsort((self._numbers[top], -score[top]))]
        out = []
        for i in top:
            issue = self.issues[int(i)]
            parts = {name: float(channels[name][i]) for name in channels}
            out.append(
                Match(
                    issue.number,
                    float(np.clip(score[i], 0.0, 1.0)),
                    parts,
                    issue.title,
                    issue.state,
                    issue.html_url,
                )
            )
        return out


def rank_of(matches: Sequence[Match], number: int) -> int | None:
    """1-based rank of ``number`` among ``matches``, or None when it is not among them."""
    for rank, match in enumerate(matches, start=1):
        if match.number == number:
            return rank
    return None


def recall_at(ranks: Sequence[int | None], cutoffs: Sequence[int] = (1, 5, 10)) -> dict[int, float]:
    """Share of queries whose duplicate is ranked within each cutoff (None: not found)."""
    if not ranks:
        return {c: 0.0 for c in cutoffs}
    return {c: sum(1 for r in ranks if r is not None and r <= c) / len(ranks) for c in cutoffs}
