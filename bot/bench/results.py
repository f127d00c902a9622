"""The results JSON of one benchmark side: building it, writing it, and reading it untrusted.

A results file may come from a fork's pull request (an artifact its code wrote), so reading
one checks its size before parsing, refuses NaN and unknown keys, validates it against the
versioned JSON Schema in ``results.schema.json`` and never echoes a hostile value in an error.
"""

from __future__ import annotations

import functools
import json
import math
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

from bot.errors import MaintbotError, UsageError

SCHEMA_NAME = "maintbot-bench-results"
SCHEMA_VERSION = 1
MAX_BYTES = 4 * 1024 * 1024  # a full 3-seed, 2-model run is ~30 KB; artifacts are untrusted
RUN_KEYS = (  # the keys a run keeps from a model's metrics (anything else is dropped)
    "model",
    "dataset",
    "seed",
    "epochs",
    "batch_size",
    "train_examples",
    "test_examples",
    "data_source",
    "test_accuracy",
    "test_loss",
    "history",
    "train_seconds",
    "total_seconds",
    "parameters",
    "peak_rss_bytes",
    "environment",
)
ENVIRONMENT_KEYS = (
    "python",
    "tensorflow",
    "keras",
    "numpy",
    "platform",
    "cpu_model",
    "cpu_count",
    "usable_cpus",
    "threads",
    "git_sha",
    "git_dirty",
)


@functools.cache
def schema() -> dict[str, Any]:
    """The JSON Schema of results files (version :data:`SCHEMA_VERSION`)."""
    text = resources.files("bot.bench").joinpath("results.schema.json").read_text("utf-8")
    return json.loads(text)


def new_results(
    *,
    label: str,
    git: dict[str, Any],
    settings: dict[str, Any],
    runs: list[dict[str, Any]],
    failures: list[dict[str, Any]],
    pull_request: dict[str, Any] | None = None,
    scope: dict[str, Any] | None = None,
    packages: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A results document; ``validate`` it before writing (the runner does).

    ``scope`` (``bench pr``) records which models the change affects: the others were skipped.
    """
    from bot import __version__

    doc: dict[str, Any] = {
        "schema": SCHEMA_NAME,
        "schema_version": SCHEMA_VERSION,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        "tool_version": __version__,
        "label": label,
        "git": git,
        "settings": settings,
        "runs": runs,
        "failures": failures,
    }
    if pull_request is not None:
        doc["pull_request"] = pull_request
    if scope is not None:
        doc["scope"] = scope
    if packages is not None:  # bench pr, dependency files changed: the sides' package diff
        doc["packages"] = packages
    return doc


def run_record(metrics: dict[str, Any], *, wall_seconds: float) -> dict[str, Any]:
    """The part of a model's metrics that results keep, plus the harness-measured wall time."""
    run = {key: metrics.get(key) for key in RUN_KEYS}
    environment = metrics.get("environment") or {}
    run["environment"] = {key: environment[key] for key in ENVIRONMENT_KEYS if key in environment}
    run["wall_seconds"] = wall_seconds
    return run


def dumps(doc: dict[str, Any]) -> str:
    """Canonical text of a results document (sorted keys, no NaN)."""
    return json.dumps(doc, indent=2, sort_keys=True, allow_nan=False) + "\n"


def write(doc: dict[str, Any], path: Path) -> None:
    """Validates then writes ``doc``: maintbot never produces a file it would refuse to read."""
    validate(doc, source=str(path))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(dumps(doc), encoding="utf-8")


def load(path: Path) -> dict[str, Any]:
    """Reads and validates a results file from anywhere (a fork's artifact included)."""
    path = Path(path)
    try:
        if path.is_symlink():
            raise UsageError(
                f"{path} is a symbolic link; results files are read only as plain files",
                hint="pass the results file itself",
            )
        with path.open("rb") as f:
            raw = f.read(MAX_BYTES + 1)
    except OSError as exc:
        raise UsageError(
            f"cannot read the results file {path}: {exc.strerror or type(exc).__name__}",
            hint="pass a file written by `maintbot bench run` or `bench pr`",
        ) from exc
    return parse(raw, source=str(path))


def parse(raw: bytes, *, source: str = "<results>") -> dict[str, Any]:
    """Parses and validates results bytes; every problem is a :class:`UsageError`."""
    hint = "regenerate it with `maintbot bench run --out FILE` (same maintbot version)"
    if len(raw) > MAX_BYTES:
        raise UsageError(
            f"{source} is larger than {MAX_BYTES // (1024 * 1024)} MiB, far more than any "
            "benchmark writes; refusing to read it",
            hint=hint,
        )
    try:
        text = raw.decode("utf-8")
        doc = json.loads(text, parse_constant=_reject_constant, parse_float=_finite_float)
    except UnicodeDecodeError as exc:
        raise UsageError(f"{source} is not UTF-8 text (byte {exc.start})", hint=hint) from exc
    except json.JSONDecodeError as exc:
        raise UsageError(
            f"{source} is not valid JSON at line {exc.lineno}, column {exc.colno} ({exc.msg}); "
            "the file may be truncated",
            hint=hint,
        ) from exc
    except (ValueError, RecursionError) as exc:
        raise UsageError(f"{source} is not valid results JSON ({_kind(exc)})", hint=hint) from exc
    validate(doc, source=source)
    return doc


def validate(doc: object, *, source: str = "<results>") -> None:
    """Raises a :class:`UsageError` naming the first place where ``doc`` breaks the schema."""
    hint = "regenerate it with `maintbot bench run --out FILE` (same maintbot version)"
    if not isinstance(doc, dict):
        raise UsageError(f"{source} is not a results document (not a JSON object)", hint=hint)
    if doc.get("schema") != SCHEMA_NAME:
        raise UsageError(
            f'{source} is not a maintbot benchmark results file (no "schema": "{SCHEMA_NAME}")',
            hint=hint,
        )
    version = doc.get("schema_version")
    if version != SCHEMA_VERSION:
        shown = version if isinstance(version, int) and not isinstance(version, bool) else "?"
        raise UsageError(
            f"{source} has results schema version {shown}; this maintbot reads version "
            f"{SCHEMA_VERSION} only",
            hint="compare files written by the same maintbot version, or regenerate the older one",
        )
    try:
        import jsonschema
    except ImportError as exc:
        raise MaintbotError(
            "reading benchmark results needs jsonschema, which is not installed",
            hint='pip install "maintbot[bench-report]" (or the full "maintbot[bench]")',
        ) from exc
    validator = jsonschema.Draft202012Validator(schema())
    error = jsonschema.exceptions.best_match(validator.iter_errors(doc))
    if error is not None:
        raise UsageError(f"{source}: {describe_error(error)}", hint=hint)
    seen: set[tuple[str, int]] = set()
    for index, run in enumerate(doc["runs"]):
        key = (run["model"], run["seed"])
        if key in seen:
            raise UsageError(
                f"{source}: runs[{index}] repeats model {run['model']} seed {run['seed']}; "
                "each seed counts once in the statistics",
                hint=hint,
            )
        seen.add(key)


def describe_error(error: Any) -> str:
    """Where and what, in words; never the offending value (it may be 1 MB of hostile text)."""
    where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path)
    where = where.lstrip(".") or "the top level"
    keyword, expected = error.validator, error.validator_value
    what = {
        "maxLength": f"is longer than {expected} characters",
        "minLength": f"is shorter than {expected} characters",
        "maxItems": f"has more than {expected} items",
        "maxProperties": f"has more than {expected} keys",
        "pattern": "has characters or a form that is not allowed",
        "type": f"should be of type {expected}",
        "const": f"should be {json.dumps(expected)}",
        "enum": "is not one of the allowed values",
        "required": "is missing a required key",
        "additionalProperties": "has a key the schema does not allow",
        "propertyNames": "has a key name that is not allowed",
        "minimum": f"is below {expected}",
        "maximum": f"is above {expected}",
    }.get(keyword, f"breaks the schema rule {keyword!r}")
    if keyword == "required":
        missing = [
            k for k in expected if isinstance(error.instance, dict) and k not in error.instance
        ]
        if missing:
            what = f"is missing the key {missing[0]!r}"
    return f"{where} {what}"


def _reject_constant(name: str) -> float:
    raise ValueError(f"{name} is not a number JSON allows")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError("a number too large to be finite")
    return value


def _kind(exc: BaseException) -> str:
    if isinstance(exc, RecursionError):
        return "nested too deeply"
    message = str(exc)
    return message if len(message) <= 120 else type(exc).__name__


# What must agree between shards of one side: the software that trained them. The hardware
# (CPU model and count) may differ, since a matrix's jobs land on different runners; the
# comment's environment table still shows it, and timings are compared with that caveat.
MERGE_ENVIRONMENT_KEYS = ("python", "tensorflow", "keras", "numpy", "platform", "threads")
_MERGE_SETTING_KEYS = ("epochs", "dataset", "train_limit", "test_limit")
_MERGE_HINT = (
    "merge only the shards of one side of one workflow run (same commit, label and options); "
    "rerun the odd shard"
)


def merge(docs: list[dict[str, Any]], *, sources: list[str] | None = None) -> dict[str, Any]:
    """One side's results from shards that each trained some models and seeds.

    A matrix splits a side over jobs; the comparison must still see one document, as if one
    job had trained everything. So the shards must be one side (label, commit, maintbot
    version, settings, software) and no (model, seed) may count twice: anything else would
    compare unlike runs or weigh a seed double, so it is refused rather than reconciled.
    Each document must already be valid (:func:`load`). Models keep the order they first
    appear in; seeds are sorted.
    """
    if not docs:
        raise UsageError("nothing to merge", hint="pass the results files of the shards")
    names = sources or [f"shard {i + 1}" for i in range(len(docs))]
    first, first_name = docs[0], names[0]
    for doc, name in zip(docs[1:], names[1:], strict=True):
        for what, get in (
            ("label", lambda d: d["label"]),
            ("commit", lambda d: d["git"]),
            ("maintbot version", lambda d: d["tool_version"]),
            *(
                (f"setting {key}", lambda d, key=key: d["settings"][key])
                for key in _MERGE_SETTING_KEYS
            ),
            *(
                (key.replace("_", " "), lambda d, key=key: d.get(key))
                for key in ("pull_request", "scope", "packages")
            ),
        ):
            if get(doc) != get(first):
                raise UsageError(
                    f"{name} and {first_name} differ in their {what}; they are not shards of "
                    "one side",
                    hint=_MERGE_HINT,
                )
    software: dict[str, tuple[Any, str]] = {}
    owner: dict[tuple[str, int], str] = {}
    runs: list[dict[str, Any]] = []
    failures: list[dict[str, Any]] = []
    models: list[str] = []
    for doc, name in zip(docs, names, strict=True):
        for kind, entries in (("run", doc["runs"]), ("failure", doc["failures"])):
            for entry in entries:
                key = (entry["model"], entry["seed"])
                if key in owner:
                    raise UsageError(
                        f"{name} and {owner[key]} both hold model {key[0]} seed {key[1]}; "
                        "each seed counts once in the statistics",
                        hint="give each shard its own seeds (bench run --seed-list)",
                    )
                owner[key] = name
                if kind == "run":
                    for field in MERGE_ENVIRONMENT_KEYS:
                        value = entry["environment"].get(field)
                        seen = software.setdefault(field, (value, name))
                        if seen[0] != value:
                            raise UsageError(
                                f"{name} and {seen[1]} ran in different environments "
                                f"({field.replace('_', ' ')} differs)",
                                hint="install the same versions in every shard's job (one "
                                "workflow, one lock) and rerun",
                            )
        runs += doc["runs"]
        failures += doc["failures"]
        models += [m for m in doc["settings"]["models"] if m not in models]
    order = {model: index for index, model in enumerate(models)}
    merged = dict(first)
    merged["created_at"] = max(doc["created_at"] for doc in docs)
    merged["settings"] = {
        **first["settings"],
        "models": models,
        "seeds": sorted({seed for doc in docs for seed in doc["settings"]["seeds"]}),
    }
    merged["runs"] = sorted(runs, key=lambda r: (order.get(r["model"], len(order)), r["seed"]))
    merged["failures"] = sorted(
        failures, key=lambda f: (order.get(f["model"], len(order)), f["seed"])
    )
    validate(merged, source="the merged results")
    return merged
