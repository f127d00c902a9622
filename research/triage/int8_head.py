"""What the int8 encoder costs held out, and what a head fitted on its own embeddings gives back.

For the model directories that ``maintbot triage protocol --out DIR`` kept (one per project,
or ``pooled``), the head is fitted again on the same training issues three ways and each
project's test issues are scored:

- **fp32**: the head on the fp32 encoder's embeddings, scored with the fp32 encoder;
- **int8, head from fp32**: that head scored with the int8 encoder (what training shipped
  before stage 10: the head learnt torch's float embeddings, prediction fed it int8 ones);
- **int8, head from int8**: the head fitted on the int8 encoder's embeddings, scored with it
  (what training ships now for an int8 model).

Refitting reproduces training's final head exactly (the same features, idf, penalty and
L-BFGS; a test checks it), so the three rows differ only in the embeddings. Prints a JSON line
per project and the means.

Usage:
    maintbot triage protocol --train fold3-train.csv --test fold3-test.csv --out /tmp/models
    .venv/bin/python -m research.triage.int8_head --models /tmp/models \
        --train fold3-train.csv --test fold3-test.csv
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path

import numpy as np

from bot.triage.data import by_repo, read_labelled
from bot.triage.head import LinearHead, fit_head
from bot.triage.metrics import macro_f1
from bot.triage.runtime import Predictor

ROWS = ("fp32", "int8, head from fp32", "int8, head from int8")


def fitted_head(features_from: Predictor, issues: list) -> LinearHead:
    """Training's final head of ``features_from``'s model, fitted again on ``issues`` as that
    predictor computes their features (its encoder file, the model's idf and views)."""
    card = json.loads((features_from.directory / "model_card.json").read_text())
    labels = features_from.labels
    return fit_head(
        features_from.features([(i.title, i.body) for i in issues]),
        np.array([labels.index(i.label) for i in issues]),
        len(labels),
        l2=card["recipe"]["l2"],
        domains=[i.repo for i in issues] if features_from.manifest.domains else None,
        domain_scale=card["recipe"]["domain_scale"],
    )


def with_head(predictor: Predictor, head: LinearHead) -> Predictor:
    """``predictor`` reading ``head`` (its own temperature kept)."""
    predictor.head = dataclasses.replace(
        predictor.head, weights=head.weights, bias=head.bias, deltas=head.deltas
    )
    return predictor


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=Path, required=True)
    parser.add_argument("--train", type=Path, required=True)
    parser.add_argument("--test", type=Path, required=True)
    args = parser.parse_args()

    train = by_repo(read_labelled(args.train))
    test = by_repo(read_labelled(args.test))
    scores: dict[str, dict[str, float]] = {}
    for directory in sorted(p for p in args.models.iterdir() if (p / "head.npz").is_file()):
        name = directory.name.replace("__", "/")
        issues = [i for repo, group in train.items() for i in group if name in ("pooled", repo)]
        fp32, int8 = (Predictor(directory, runtime=r) for r in ("fp32", "int8"))
        from_fp32 = fitted_head(fp32, issues)
        models = {
            ROWS[0]: with_head(fp32, from_fp32),
            ROWS[1]: with_head(Predictor(directory, runtime="int8"), from_fp32),
            ROWS[2]: with_head(int8, fitted_head(int8, issues)),
        }
        for repo in sorted(test) if name == "pooled" else [name]:
            pairs = [(i.title, i.body) for i in test[repo]]
            truth = [i.label for i in test[repo]]
            row = {}
            for label, model in models.items():
                predicted = [p.label for p in model.predict(pairs, [repo] * len(pairs))]
                row[label] = round(macro_f1(truth, predicted, model.labels), 4)
            scores[repo] = row
            print(json.dumps({"repo": repo, "n": len(pairs), **row}), flush=True)
    means = {label: round(float(np.mean([s[label] for s in scores.values()])), 4) for label in ROWS}
    print(json.dumps({"mean": means, "projects": len(scores)}))


if __name__ == "__main__":
    main()
