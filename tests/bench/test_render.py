"""The report: Markdown table, Mermaid chart, environment, and hostile text made inert."""

from __future__ import annotations

import json
import re

from bot.bench import render
from bot.bench.affected import decide
from bot.bench.compare import compare
from tests.bench.builders import ENVIRONMENT, HEAD_SHA, make_results, make_run, side

HOSTILE = "@everyone <img src=x onerror=alert(1)> [click](https://evil.example) #1 ```"


def regression_pair():
    base = side([0.9760, 0.9740, 0.9756])
    head = side([0.9660, 0.9642, 0.9655], label="head", sha=HEAD_SHA)
    return base, head


def test_table_rows_show_means_deltas_and_verdicts():
    base, head = regression_pair()
    text = render.markdown(compare(base, head), base_runs=base["runs"], head_runs=head["runs"])
    assert text.startswith("### ❌ maintbot benchmark: regression in mnist_mlp\n")
    assert "Base `aaaaaaa` (main) vs head `bbbbbbb` (working tree): 3 seeds × 5 epochs" in text
    assert "| metric | base | head | delta | verdict |" in text
    row = next(line for line in text.splitlines() if line.startswith("| test accuracy |"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    # Means and sample sds of the accuracies above, in percent, computed here by hand.
    assert cells[1] == "97.52 % ± 0.11"
    assert cells[2] == "96.52 % ± 0.09"
    assert cells[3] == "−1.00 pts"
    assert cells[4].startswith("❌ regression: worse by 1.00 points (threshold 0.5), p = ")
    size_row = next(line for line in text.splitlines() if line.startswith("| parameters |"))
    assert "| 101,770 | 101,770 | +0.00 % | ✅ pass" in size_row
    assert "<details><summary>Environment</summary>" in text
    # Versions pass through the sanitiser, which escapes a leading "2." (an ordered list).
    assert "| TensorFlow | 2\\.21.0 | 2\\.21.0 |" in text


def test_chart_is_mermaid_with_the_mean_accuracy_per_epoch():
    base = make_results([make_run(seed=0, accuracy=0.97), make_run(seed=1, accuracy=0.98)])
    head = make_results([make_run(seed=0, accuracy=0.95)], label="head", sha=HEAD_SHA)
    text = render.markdown(compare(base, head))
    chart = re.search(r"```mermaid\n(.*?)```", text, re.S).group(1)
    assert chart.startswith("xychart-beta\n")
    assert 'x-axis "epoch" [1, 2, 3, 4, 5]' in chart
    lines = re.findall(r"line \[(.*?)\]", chart)
    # make_run's history: accuracy − 0.01·(epochs − epoch); base is the mean of 0.97 and 0.98.
    assert lines[0] == "93.50, 94.50, 95.50, 96.50, 97.50"
    assert lines[1] == "91.00, 92.00, 93.00, 94.00, 95.00"


def test_history_chart_uses_commit_ids_only_when_hex():
    chart = render.history_chart("mnist_mlp", [("c" * 40, 0.975), ("<b>", 0.9761)])
    assert 'x-axis ["ccccccc", "?"]' in chart
    assert "line [97.50, 97.61]" in chart


def test_hostile_strings_are_rendered_inert():
    base = side([0.975, 0.976])
    hostile_env = dict(ENVIRONMENT, cpu_model=HOSTILE[:200])
    head = make_results(
        [make_run(seed=0, environment=hostile_env)],
        label="head",
        sha=HEAD_SHA,
        failures=[{"model": "mnist_mlp", "seed": 1, "reason": HOSTILE + "\n## fake heading"}],
    )
    head["git"]["ref"] = HOSTILE
    text = render.markdown(compare(base, head), base_runs=base["runs"], head_runs=head["runs"])
    assert "@everyone" not in text and "@\u200deveryone" in text
    assert "<img" not in text and "&lt;img" in text
    assert "](https://" not in text
    assert "\n## fake heading" not in text
    assert "#1 " not in text.replace("#\u200d1", "")
    # The only code fences are the chart's own.
    assert text.count("```") == 0 or text.count("```mermaid") * 2 == text.count("```")


def test_environment_change_is_called_out():
    base = side([0.975, 0.976])
    other = dict(ENVIRONMENT, cpu_model="Intel Xeon")
    head = make_results(
        [make_run(seed=s, environment=other) for s in range(2)], label="head", sha=HEAD_SHA
    )
    text = render.markdown(compare(base, head))
    assert "The environment changed between the sides** (CPU: AMD EPYC → Intel Xeon)" in text


def test_json_format_is_plain_data():
    base, head = regression_pair()
    data = json.loads(render.to_json(compare(base, head)))
    assert data["status"] == "regression"
    accuracy = data["models"][0]["metrics"][0]
    assert accuracy["metric"] == "test_accuracy" and accuracy["status"] == "regression"
    assert accuracy["base"]["n"] == 3 and data["thresholds"]["accuracy_drop_points"] == 0.5


def empty_pair():
    """What bench pr writes when no model is affected: both sides with no runs."""
    base, head = make_results([]), make_results([], label="head", sha=HEAD_SHA)
    for doc in (base, head):
        doc["settings"]["seeds"] = [0, 1, 2]
    return base, head


def test_not_affected_says_so_lists_the_files_and_trains_nothing():
    base, head = empty_pair()
    scope = decide(["README.md", "docs/usage.md"], ["mnist_mlp", "mnist_cnn"], shared=())
    text = render.markdown(compare(base, head), scope=scope)
    assert text.startswith("### ✅ maintbot benchmark: not affected\n")
    assert "Base `aaaaaaa` (main) vs head `bbbbbbb` (working tree): no model was trained." in text
    assert (
        "This change touches 2 files, and none of them is a dependency of a benchmarked model "
        "(mnist_mlp, mnist_cnn):\n\n- README.md\n- docs/usage.md\n"
    ) in text
    assert "| metric |" not in text
    data = json.loads(render.to_json(compare(base, head), scope=scope))
    assert data["status"] == "not affected"
    assert data["scope"]["models"][0] == {
        "model": "mnist_mlp",
        "affected": False,
        "reason": "none of the changed files is its code, shared code or a dependency file",
        "because": [],
    }


def test_skipped_models_are_listed_with_their_reason_beside_the_verdict():
    base, head = regression_pair()
    scope = decide(["reference_models/mnist_mlp.py"], ["mnist_mlp", "mnist_cnn"], shared=())
    text = render.markdown(compare(base, head), scope=scope)
    assert text.startswith("### ❌ maintbot benchmark: regression in mnist_mlp\n")
    assert "- mnist_mlp: trained: reference\\_models/mnist\\_mlp.py changed (its own code)" in text
    assert "- mnist_cnn: skipped, not affected: none of the changed files" in text
    assert "| test accuracy |" in text
    assert json.loads(render.to_json(compare(base, head), scope=scope))["status"] == "regression"


def test_many_changed_files_are_cut_and_hostile_paths_are_inert():
    base, head = empty_pair()
    changed = [f"docs/{i:02}.md" for i in range(25)] + [HOSTILE.replace(" ", "_")[:60]]
    text = render.markdown(compare(base, head), scope=decide(changed, ["mnist_mlp"], shared=()))
    assert "- … and 6 more" in text
    # sorted as git sorts: the hostile path ('@' < 'd') first, then docs/00 to docs/18
    assert "- docs/18.md" in text and "- docs/19.md" not in text
    assert "@everyone" not in text and "<img" not in text and "](https://" not in text


def test_an_incomplete_run_is_never_a_green_headline():
    base, head = empty_pair()
    scope = decide(["reference_models/training.py"], ["mnist_mlp"], shared=["reference_models/*"])
    text = render.markdown(compare(base, head), scope=scope, incomplete=["mnist_mlp"])
    assert text.startswith("### ❌ maintbot benchmark: incomplete: mnist_mlp not trained\n")


def test_a_repositorys_own_model_name_is_shown_inert():
    base = side([0.975, 0.976], model="examples.my_model")
    head = side([0.965, 0.964], model="examples.my_model", label="head", sha=HEAD_SHA)
    text = render.markdown(compare(base, head))
    assert "#### examples.my\\_model: " in text
