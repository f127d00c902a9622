"""Issue text cleaning and the head + tail token budget."""

from __future__ import annotations

from bot.triage.text import clean_body
from bot.triage.tokens import batch, head_tail


def test_comments_and_unanswered_template_fields_go():
    body = (
        "<!-- Please describe the bug.\nMultiple lines of instructions -->\n"
        "### Describe the bug\n\nThe app crashes on start.\n\n"
        "### GPU model and memory\n\n_No response_\n\n"
        "### Python version\n\n3.11\n"
    )
    cleaned = clean_body(body)
    assert "Please describe" not in cleaned
    assert "GPU model" not in cleaned
    assert "Describe the bug: The app crashes on start." in cleaned
    assert "Python version: 3.11" in cleaned


def test_long_code_and_traces_keep_their_ends():
    code = "\n".join(f"line {n}" for n in range(1, 41))
    cleaned = clean_body(f"Before\n```python\n{code}\n```\nAfter")
    assert "line 1" in cleaned and "line 40" in cleaned and "line 39" in cleaned
    assert "line 20" not in cleaned
    assert "(34 lines)" in cleaned  # 40 lines: 4 first + 2 last kept
    trace = "\n".join(
        ["Traceback (most recent call last):"]
        + [f'  File "x{n}.py", line {n}, in f' for n in range(30)]
        + ["ValueError: boom"]
    )
    cleaned = clean_body(f"It fails:\n{trace}\nThanks")
    assert "Traceback" in cleaned and "ValueError: boom" in cleaned and "Thanks" in cleaned
    assert "x15.py" not in cleaned


def test_urls_become_their_host():
    cleaned = clean_body("See https://github.com/org/repo/issues/12?x=1 and ![img](http://a/b.png)")
    assert "[github.com]" in cleaned
    assert "/issues/12" not in cleaned
    assert "[image]" in cleaned


def test_head_tail_keeps_both_ends():
    ids = list(range(100))
    assert head_tail(ids, 200) == ids
    kept = head_tail(ids, 10, tail_share=0.3)
    assert kept == [0, 1, 2, 3, 4, 5, 6, 97, 98, 99]
    assert head_tail(ids, 0) == []


def test_batch_pads_to_the_longest():
    enc = batch([[101, 5, 102], [101, 102]])
    assert enc.input_ids.tolist() == [[101, 5, 102], [101, 102, 0]]
    assert enc.attention_mask.tolist() == [[1, 1, 1], [1, 1, 0]]


def test_three_lexical_views_read_an_issue_differently():
    from bot.triage.lexical import char_terms, raw_word_terms, word_terms

    title, body = "Crash on start", "<!-- fill this in -->\n### Describe the bug\n- [x] searched"
    words = word_terms(title, body)
    assert words["t:crash"] == 1 and words["t:crash on"] == 1
    assert "fill" not in words  # the template's comment is cleaned away
    raw = raw_word_terms(title, body)
    for markup in ("<!--", "###", "[x]", "fill"):
        assert raw[markup] >= 1
    chars = char_terms(title, body)
    assert chars["t cra"] == 1 and chars["tsta"] == 1  # title n-grams marked, padded
    assert "<!-" not in chars


def test_hashed_tfidf_is_the_same_dense_and_sparse():
    import numpy as np

    from bot.triage.lexical import fit_idf, hashed_counts, hashed_counts_sparse, tfidf

    texts = [("Crash on start", "Traceback ... ValueError"), ("How do I?", "Is there a way")]
    for view in ("words", "raw-words", "chars"):
        dense = hashed_counts(texts, 2**10, view)
        sparse = hashed_counts_sparse(texts, 2**10, view)
        assert np.allclose(dense, sparse.toarray())
        idf = fit_idf(sparse)
        assert np.allclose(idf, fit_idf(dense))
        assert np.allclose(tfidf(dense, idf), tfidf(sparse, idf).toarray())
        assert np.allclose(np.linalg.norm(tfidf(dense, idf), axis=1), 1.0)


def test_hashed_counts_are_sublinear_term_frequencies_at_stable_columns():
    # the column of a term is its CRC-32 modulo the width, in every process: a model
    # directory's head reads the columns its training wrote
    import math
    import zlib

    import numpy as np

    from bot.triage.lexical import hashed_counts, word_terms

    title, body = "Crash", "crash crash crash"
    terms = word_terms(title, body)
    assert terms == {"t:crash": 1, "crash": 3, "crash crash": 2}
    row = hashed_counts([(title, body)], 2**12, "words")[0]
    expected = np.zeros(2**12, dtype=np.float32)
    for term, count in terms.items():
        expected[zlib.crc32(term.encode("utf-8")) % 2**12] += 1.0 + math.log(count)
    assert np.allclose(row, expected)
    assert np.count_nonzero(row) == 3
