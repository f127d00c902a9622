"""Renders a benchmark comparison: the PR comment / job summary in Markdown, and JSON.

Every string that came from a results file (a fork may have written it) goes through
``bot.sanitize`` before it reaches Markdown; numbers are formatted here, and commit
ids are shown only when they are plain hex. The chart is Mermaid ``xychart-beta``, which
GitHub renders inline, so no image has to be hosted anywhere.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

from bot.bench.affected import Scope
from bot.bench.compare import (
    ENVIRONMENT_FIELDS,
    Comparison,
    MetricSpec,
    MetricVerdict,
    ModelVerdict,
    Status,
)
from bot.bench.packages import from_results
from bot.bench.packages import markdown as package_lines
from bot.bench.stats import Summary
from bot.sanitize import inline

HEX_SHA = re.compile(r"^[0-9a-f]{7,64}$")
PLAIN_NAME = re.compile(r"^[a-z][a-z0-9_]*$")  # a reference model's name needs no escaping
NOT_AFFECTED = "not affected"
SHOWN_PATHS = 20  # changed files listed in the comment

HEADLINES = {
    Status.REGRESSION: "regression",
    Status.WARNING: "warning",
    Status.INCONCLUSIVE: "inconclusive",
    Status.IMPROVED: "improved",
    Status.PASS: "no regression",
}


def markdown(
    comparison: Comparison,
    *,
    base_runs: Sequence[dict[str, Any]] = (),
    head_runs: Sequence[dict[str, Any]] = (),
    history: dict[str, list[tuple[str, float]]] | None = None,
    notes: Sequence[str] = (),
    scope: Scope | None = None,
    incomplete: Sequence[str] = (),
    info: Sequence[str] = (),
    packages: Mapping[str, Any] | None = None,
) -> str:
    """The comment body: headline, a table per model, charts, environment, thresholds.

    ``base_runs``/``head_runs`` (the validated runs) fill the environment table; ``history``
    maps a model to (commit, test accuracy) pairs on the default branch, oldest first;
    ``notes`` are warnings shown under the headline; ``scope`` says which models the change
    affects (when it affects none, the comment says "not affected" and why, and no more);
    ``incomplete`` names models the change affects that the run did not train; ``info``
    are plain facts under the headline (a model that stopped before ``bench.seeds`` and why,
    base runs reused from a record); ``packages`` is a validated head document's
    ``packages`` object (the sides ran in their own environments: which packages differ).
    """
    if scope is not None and scope.nothing_affected and not incomplete:
        return not_affected_markdown(comparison, scope, notes=notes)
    headline = _headline(comparison)
    if incomplete:
        names = ", ".join(model_name(m) for m in incomplete)
        headline = (
            f"### {Status.REGRESSION.icon} maintbot benchmark: incomplete: {names} not trained"
        )
    lines = [headline, "", _subtitle(comparison), ""]
    lines += [f"> ⚠️ {inline(note, 300)}" for note in notes]
    if notes:
        lines.append("")
    lines += [f"> ℹ️ {inline(line, 400)}" for line in info]
    if info:
        lines.append("")
    if scope is not None and scope.skipped:
        lines += _scope_lines(scope)
    if packages is not None:
        lines += package_lines(*from_results(packages))
    if comparison.setting_changes:
        changed = "; ".join(
            f"{inline(d.field, 40)}: {inline(d.base, 40)} → {inline(d.head, 40)}"
            for d in comparison.setting_changes
        )
        lines += [
            f"> ⚠️ **The sides ran with different settings** ({changed}): not like for like.",
            "",
        ]
    if comparison.environment_changes:
        changed = "; ".join(
            f"{inline(d.field, 40)}: {inline(d.base, 80)} → {inline(d.head, 80)}"
            for d in comparison.environment_changes
        )
        lines += [
            f"> ⚠️ **The environment changed between the sides** ({changed}): timings are not "
            "comparable, and numerics may differ.",
            "",
        ]
    if comparison.only_on_one_side:
        lines += [
            "Not compared (run on one side only): "
            + ", ".join(inline(name, 80) for name in comparison.only_on_one_side),
            "",
        ]
    for model in comparison.models:
        lines += _model_section(model)
        chart = epoch_chart(model)
        if chart:
            lines += [chart, ""]
        if history and history.get(model.model):
            lines += [history_chart(model.model, history[model.model]), ""]
    lines += _environment_details(base_runs, head_runs)
    lines += [_thresholds_line(comparison)]
    return "\n".join(lines).rstrip() + "\n"


def not_affected_markdown(
    comparison: Comparison, scope: Scope, *, notes: Sequence[str] = ()
) -> str:
    """The comment when the change touches nothing a model depends on: nothing was trained."""
    count = len(scope.changed)
    files = "file" if count == 1 else "files"
    lines = [
        f"### {Status.PASS.icon} maintbot benchmark: {NOT_AFFECTED}",
        "",
        f"Base {_commit(comparison.base_git)} vs head {_commit(comparison.head_git)}: "
        "no model was trained.",
        "",
    ]
    lines += [f"> ⚠️ {inline(note, 300)}" for note in notes]
    if notes:
        lines.append("")
    if count:
        lines.append(
            f"This change touches {count} {files}, and none of them is a dependency of a "
            f"benchmarked model ({', '.join(model_name(m) for m in scope.skipped)}):"
        )
        lines += ["", _path_list(scope.changed), ""]
    else:
        lines += ["This change touches no file, so no model can be affected.", ""]
    lines.append(_dependency_note())
    return "\n".join(lines).rstrip() + "\n"


def to_json(comparison: Comparison, scope: Scope | None = None) -> str:
    """The comparison for machines; non-finite numbers become null.

    With a ``scope``, also which models were skipped and why; ``status`` is
    ``"not affected"`` when nothing was.
    """
    data = comparison.to_dict()
    if scope is not None:
        data["scope"] = scope_dict(scope)
        if scope.nothing_affected:
            data["status"] = NOT_AFFECTED
    return json.dumps(_finite(data), indent=2, sort_keys=True) + "\n"


def scope_dict(scope: Scope) -> dict[str, Any]:
    """The scope for machines: the changed files and each model's decision with its reason."""
    return {
        "changed_count": len(scope.changed),
        "changed": list(scope.changed),
        "models": [
            {
                "model": m.model,
                "affected": m.affected,
                "reason": m.reason,
                "because": [path for path, _ in m.because],
            }
            for m in scope.models
        ],
    }


def model_name(name: str) -> str:
    """A model's name for Markdown: reference names as they are, module paths made inert."""
    return name if PLAIN_NAME.match(name) else inline(name, 100)


def epoch_chart(model: ModelVerdict) -> str:
    """Mermaid chart of mean training accuracy per epoch, base then head."""
    base, head = model.base_epoch_accuracy, model.head_epoch_accuracy
    epochs = min(len(base), len(head))
    if epochs < 2:
        return ""
    base_pct = [v * 100 for v in base[:epochs]]
    head_pct = [v * 100 for v in head[:epochs]]
    low, high = _axis_range(base_pct + head_pct)
    return "\n".join(
        [
            "```mermaid",
            "xychart-beta",
            f'    title "{model.model}: training accuracy per epoch (mean over seeds)"',
            f'    x-axis "epoch" [{", ".join(str(i) for i in range(1, epochs + 1))}]',
            f'    y-axis "accuracy (%)" {low:g} --> {high:g}',
            f"    line [{', '.join(f'{v:.2f}' for v in base_pct)}]",
            f"    line [{', '.join(f'{v:.2f}' for v in head_pct)}]",
            "```",
            "<sub>First line: base; second line: head.</sub>",
        ]
    )


def history_chart(model: str, points: Sequence[tuple[str, float]]) -> str:
    """Mermaid chart of test accuracy on the default branch, oldest commit first."""
    labels = [f'"{sha[:7]}"' if HEX_SHA.match(sha) else '"?"' for sha, _ in points]
    values = [accuracy * 100 for _, accuracy in points]
    low, high = _axis_range(values)
    return "\n".join(
        [
            "```mermaid",
            "xychart-beta",
            f'    title "{model}: test accuracy on the default branch"',
            f"    x-axis [{', '.join(labels)}]",
            f'    y-axis "accuracy (%)" {low:g} --> {high:g}',
            f"    line [{', '.join(f'{v:.2f}' for v in values)}]",
            "```",
        ]
    )


def format_value(spec: MetricSpec, summary: Summary) -> str:
    """``97.61 % ± 0.08`` for accuracy, ``31.2 s ± 1.1``, ``101,770`` for parameters."""
    if summary.mean is None:
        return "—"
    mean, sd = summary.mean, summary.sd
    if spec.fmt == "percent":
        text, spread = f"{mean * 100:.2f} %", None if sd is None else f"{sd * 100:.2f}"
    elif spec.fmt == "seconds":
        text, spread = f"{mean:.1f} s", None if sd is None else f"{sd:.1f}"
    elif spec.fmt == "integer":
        text, spread = f"{round(mean):,}", None if not sd else f"{sd:,.0f}"
    else:
        text, spread = f"{mean:.4f}", None if sd is None else f"{sd:.4f}"
    return f"{text} ± {spread}" if spread is not None else text


def format_change(metric: MetricVerdict) -> str:
    """``−1.21 pts`` or ``+12.3 %``; a real minus sign so signs line up in the table."""
    if metric.change is None:
        return "—"
    if not math.isfinite(metric.change):
        return "new" if metric.change > 0 else "—"
    unit = " pts" if metric.spec.unit == "points" else " %"
    sign = "+" if metric.change >= 0 else "−"
    return f"{sign}{abs(metric.change):.2f}{unit}"


def _scope_lines(scope: Scope) -> list[str]:
    """Which models ran and which were skipped, each with its reason."""
    count = len(scope.changed)
    lines = [f"**Only what this change can affect was trained** ({count} changed file(s)):", ""]
    for model in scope.models:
        verb = "trained" if model.affected else "skipped, not affected"
        lines.append(f"- {model_name(model.model)}: {verb}: {inline(model.reason, 300)}")
    return [*lines, "", _dependency_note(), ""]


def _dependency_note() -> str:
    return (
        "<sub>A model is trained when a pull request changes its own module, the code every "
        "model shares, a dependency file, a path listed for it, or .github/maintbot.yml "
        "(bench.paths in the configuration).</sub>"
    )


def _path_list(paths: Sequence[str]) -> str:
    shown = [f"- {inline(path, 200)}" for path in paths[:SHOWN_PATHS]]
    if len(paths) > SHOWN_PATHS:
        shown.append(f"- … and {len(paths) - SHOWN_PATHS} more")
    return "\n".join(shown)


def _headline(comparison: Comparison) -> str:
    status = comparison.status
    affected = [model_name(m.model) for m in comparison.models if m.status is status]
    where = f" in {', '.join(affected)}" if affected and status is not Status.PASS else ""
    return f"### {status.icon} maintbot benchmark: {HEADLINES[status]}{where}"


def _subtitle(comparison: Comparison) -> str:
    base_seeds, head_seeds = comparison.seeds
    base_epochs, head_epochs = comparison.epochs
    seeds = f"{base_seeds}" if base_seeds == head_seeds else f"{base_seeds}/{head_seeds}"
    epochs = f"{base_epochs}" if base_epochs == head_epochs else f"{base_epochs}/{head_epochs}"
    seed_word = "seed" if seeds == "1" else "seeds"
    epoch_word = "epoch" if epochs == "1" else "epochs"
    return (
        f"Base {_commit(comparison.base_git)} vs head {_commit(comparison.head_git)}: "
        f"{seeds} {seed_word} × {epochs} {epoch_word} per side."
    )


def _commit(git: dict[str, Any]) -> str:
    sha = git.get("sha")
    ref = git.get("ref")
    shown = f"`{sha[:7]}`" if isinstance(sha, str) and HEX_SHA.match(sha) else "(no commit)"
    if isinstance(ref, str) and ref:
        shown += f" ({inline(ref, 60)})"
    if git.get("dirty"):
        shown += " + local changes"
    return shown


def _model_section(model: ModelVerdict) -> list[str]:
    lines = [
        f"#### {model_name(model.model)}: {model.status.icon} {HEADLINES[model.status]}",
        "",
    ]
    lines += [f"- {inline(note, 400)}" for note in model.notes]
    if model.notes:
        lines.append("")
    lines += ["| metric | base | head | delta | verdict |", "| --- | ---: | ---: | ---: | --- |"]
    for metric in model.metrics:
        lines.append(
            f"| {metric.spec.label} | {format_value(metric.spec, metric.base)} "
            f"| {format_value(metric.spec, metric.head)} | {format_change(metric)} "
            f"| {metric.status.icon} {metric.status.value}: {inline(metric.reason, 200)} |"
        )
    return [*lines, ""]


def _environment_details(
    base_runs: Sequence[dict[str, Any]], head_runs: Sequence[dict[str, Any]]
) -> list[str]:
    if not base_runs and not head_runs:
        return []
    lines = [
        "<details><summary>Environment</summary>",
        "",
        "| | base | head |",
        "| --- | --- | --- |",
    ]
    for key, label in ENVIRONMENT_FIELDS:
        lines.append(
            f"| {label} | {_environment_value(base_runs, key)} "
            f"| {_environment_value(head_runs, key)} |"
        )
    lines += ["", "</details>", ""]
    return lines


def _environment_value(runs: Sequence[dict[str, Any]], key: str) -> str:
    values: list[str] = []
    for run in runs:
        value = run.get("environment", {}).get(key)
        if isinstance(value, dict):
            value = ", ".join(f"{k}={v}" for k, v in sorted(value.items()) if v not in ("", None))
        text = "" if value is None else str(value)
        if text not in values:
            values.append(text)
    return inline(" / ".join(v for v in values if v) or "—", 120)


def _thresholds_line(comparison: Comparison) -> str:
    t = comparison.thresholds
    return (
        f"<sub>Regression: test accuracy down ≥ {t.accuracy_drop_points:g} points or test loss "
        f"up ≥ {t.loss_increase_pct:g} %; warning: training time up ≥ {t.time_increase_pct:g} % "
        f"or parameters up ≥ {t.size_increase_pct:g} %. Each needs a one-sided Welch's t-test "
        f"over the seeds with p < {t.alpha:g}; over the threshold but not significant is "
        "inconclusive.</sub>"
    )


def _axis_range(values: Sequence[float]) -> tuple[float, float]:
    """A y-axis that shows the differences: whole points around the data, within 0–100."""
    low = max(0.0, math.floor(min(values)) - 1)
    high = min(100.0, math.ceil(max(values)) + 1)
    return low, high if high > low else low + 1


def _finite(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value
