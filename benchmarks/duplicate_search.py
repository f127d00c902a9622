"""Duplicate search over a large repository: index build time, memory, per-query latency.

The issues are synthetic (words drawn from a Zipf distribution over a 20,000-word
vocabulary, a fifth with a Python traceback), and the embeddings are random unit vectors
of the built-in model's width (384): the search's cost depends on the number of issues,
their terms and the vector width, not on what the words mean, and embedding 50,000 issues
with the encoder would time the encoder (its latency is benchmarks/triage_latency.py's).
Each query is an indexed issue with a third of its words replaced, searched for its top 5
(its own number excluded), so its terms have the postings real queries have.

``--store`` also writes the index into a SQLite store and times loading it back into a
searchable index (what a new process pays once per repository and version).

Usage: ``.venv/bin/python -m benchmarks.duplicate_search [--issues 50000] [--queries 200]
[--store] [--json]``
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np

from bot.triage.duplicates import DuplicateIndex, IndexedIssue, issue_features

VOCABULARY = 20_000
DIM = 384
TRACE = (
    'Traceback (most recent call last):\n  File "/src/pkg/{m}.py", line {l}, in {f}\n'
    "    x = run(y)\n{e}: {msg} {n}\n"
)
ERRORS = ["ValueError", "RuntimeError", "KeyError", "TypeError", "IndexError"]


def synthetic_issues(n: int, seed: int = 0) -> list[tuple[str, str]]:
    """``n`` (title, body) pairs of Zipf-distributed words, a fifth with a traceback."""
    rng = np.random.default_rng(seed)
    words = [f"w{k}" for k in range(VOCABULARY)]
    ranks = np.minimum(rng.zipf(1.2, size=(n, 90)), VOCABULARY) - 1
    out = []
    for k in range(n):
        title = " ".join(words[r] for r in ranks[k, :8])
        body = " ".join(words[r] for r in ranks[k, 8:])
        if k % 5 == 0:
            body += "\n" + TRACE.format(
                m=words[ranks[k, 1]],
                l=k % 300,
                f=words[ranks[k, 2]],
                e=ERRORS[k % 5],
                msg=" ".join(words[r] for r in ranks[k, 3:7]),
                n=k,
            )
        out.append((title, body))
    return out


def perturbed(text: tuple[str, str], rng: np.random.Generator) -> tuple[str, str]:
    """The issue with a third of its words replaced by random ones."""
    title, body = text
    tokens = body.split(" ")
    for i in rng.choice(len(tokens), size=len(tokens) // 3, replace=False):
        tokens[i] = f"w{rng.integers(VOCABULARY)}"
    return title, " ".join(tokens)


def unit_vectors(n: int, seed: int) -> np.ndarray:
    vectors = np.random.default_rng(seed).standard_normal((n, DIM)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--issues", type=int, default=50_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--store", action="store_true", help="also time a store round trip")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)

    texts = synthetic_issues(args.issues)
    vectors = unit_vectors(args.issues, 1)
    started = time.perf_counter()
    features = [issue_features(t, b, vectors[k]) for k, (t, b) in enumerate(texts)]
    featurise_s = time.perf_counter() - started
    issues = [IndexedIssue(k + 1, t[:40], features[k]) for k, (t, _) in enumerate(texts)]

    tracemalloc.start()
    started = time.perf_counter()
    index = DuplicateIndex(issues)
    build_s = time.perf_counter() - started
    _, build_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    rng = np.random.default_rng(2)
    picks = rng.choice(args.issues, size=args.queries, replace=False)
    query_vectors = unit_vectors(args.queries, 3)
    started = time.perf_counter()
    queries = [
        (int(k) + 1, issue_features(*perturbed(texts[k], rng), query_vectors[i]))
        for i, k in enumerate(picks)
    ]
    query_features_ms = (time.perf_counter() - started) / args.queries * 1000
    index.search(queries[0][1], 5, exclude={queries[0][0]})  # warm-up
    latencies, found = [], 0
    for number, query in queries:
        t0 = time.perf_counter()
        matches = index.search(query, 5, exclude={number})
        latencies.append((time.perf_counter() - t0) * 1000)
        found += bool(matches)
    result = {
        "issues": args.issues,
        "queries": args.queries,
        "synthetic": True,
        "featurise_s": round(featurise_s, 2),
        "index_build_s": round(build_s, 3),
        "index_mb": round(index.nbytes / 2**20, 1),
        "index_build_peak_mb": round(build_peak / 2**20, 1),
        "query_features_ms": round(query_features_ms, 2),
        "search_p50_ms": round(float(np.percentile(latencies, 50)), 2),
        "search_p95_ms": round(float(np.percentile(latencies, 95)), 2),
        "cpu": platform.processor() or platform.machine(),
    }
    if args.store:
        result.update(store_round_trip(texts, vectors))
    if args.json:
        print(json.dumps(result, sort_keys=True))
    else:
        for key, value in result.items():
            print(f"{key}: {value}")
    return result


def store_round_trip(texts: list[tuple[str, str]], vectors: np.ndarray) -> dict:
    """Writes every issue into a fresh SQLite store, then times a cold load of the index."""
    from bot.store.database import Store
    from bot.triage.duplicates_index import _CACHE, IssueText, load_index, upsert_issues

    class Vectors:  # the precomputed random vectors, in the order the issues are written
        position = 0

        def issue_embeddings(self, batch: list[tuple[str, str]]) -> np.ndarray:
            out = vectors[self.position : self.position + len(batch)]
            self.position += len(batch)
            return out

    with tempfile.TemporaryDirectory() as folder:
        store = Store.open(f"sqlite:///{Path(folder) / 'bench.sqlite3'}")
        embedder = Vectors()
        started = time.perf_counter()
        for start in range(0, len(texts), 1000):
            chunk = [
                IssueText(start + k + 1, t, b)
                for k, (t, b) in enumerate(texts[start : start + 1000])
            ]
            upsert_issues(store, "bench/repo", "bench", chunk, embedder)
        write_s = time.perf_counter() - started
        _CACHE.clear()
        started = time.perf_counter()
        load_index(store, "bench/repo")
        load_s = time.perf_counter() - started
        started = time.perf_counter()
        load_index(store, "bench/repo")
        cached_ms = (time.perf_counter() - started) * 1000
        size_mb = (Path(folder) / "bench.sqlite3").stat().st_size / 2**20
        store.close()
    return {
        "store_write_s": round(write_s, 1),
        "store_load_s": round(load_s, 2),
        "store_cached_load_ms": round(cached_ms, 2),
        "store_mb": round(size_mb, 1),
    }


if __name__ == "__main__":
    main()
