"""Defaults for every key, merging a partial file over them, and the typed objects' behaviour."""

from __future__ import annotations

import dataclasses
import pickle

import pytest
import yaml

from bot.config.loader import load_config, parse_config
from bot.config.schema import Config, LabelsConfig
from bot.errors import ConfigError

# Written out by hand from the issue and docs/configuration.md, not from the code.
EXPECTED_DEFAULTS = {
    "version": 1,
    "labels": {
        "types": {
            "bug": "bug",
            "feature": "enhancement",
            "question": "question",
            "docs": "documentation",
        },
        "needs_triage": "needs-triage",
        "needs_info": "needs-info",
        "possible_duplicate": "possible-duplicate",
        "already_triaged": ["duplicate", "invalid", "wontfix"],
        "type_labels_mean_triaged": True,
        "create_missing": True,
        "styles": {
            "bug": {"color": "d73a4a", "description": "Something isn't working"},
            "feature": {"color": "a2eeef", "description": "New feature or request"},
            "question": {"color": "d876e3", "description": "Further information is requested"},
            "docs": {
                "color": "0075ca",
                "description": "Improvements or additions to documentation",
            },
            "needs_triage": {
                "color": "fbca04",
                "description": "maintbot was not sure; a maintainer should label it",
            },
            "needs_info": {
                "color": "e4e669",
                "description": "The report is missing details maintbot asked for",
            },
            "possible_duplicate": {
                "color": "cfd3d7",
                "description": "maintbot found issues that look the same",
            },
        },
    },
    "triage": {
        "enabled": True,
        "model": "",
        "min_precision": 0.9,
        "comment_on_low_confidence": False,
        "duplicates": {
            "enabled": True,
            "similarity_threshold": 0.6,
            "max_candidates": 3,
            "closed_within_days": 365,
            "add_label": False,
        },
        "missing_info": {
            "enabled": True,
            "types": ["bug"],
            "ask_for": ["versions", "os", "reproduction", "error", "expected"],
        },
        "ignore_authors": [],
        "learn_from_corrections": True,
    },
    "bench": {
        "enabled": True,
        "models": ["mnist_mlp", "mnist_cnn"],
        "seeds": 3,
        "epochs": 5,
        "early_stop": True,
        "reuse_base": True,
        "data_branch": "maintbot-bench-data",
        "timeout_minutes": 30,
        "thresholds": {
            "accuracy_drop_points": 0.5,
            "loss_increase_pct": 5,
            "time_increase_pct": 20,
            "size_increase_pct": 10,
            "alpha": 0.05,
        },
        "comment": True,
        "check": True,
        "fail_on_regression": True,
        "paths": {
            "shared": [
                "reference_models/__init__.py",
                "reference_models/training.py",
                "reference_models/data.py",
                "reference_models/environment.py",
                "pyproject.toml",
                "setup.py",
                "setup.cfg",
                "requirements*.txt",
                "requirements/**",
                "constraints*.txt",
                "*.lock",
                "Pipfile",
                "environment.yml",
            ],
            "models": {},
        },
    },
    "report": {
        "enabled": True,
        "schedule": "0 6 1 * *",
        "window_days": 30,
        "format": "md",
        "ignore_users": [],
        "bots_excluded": True,
        "business_hours": {
            "enabled": False,
            "timezone": "UTC",
            "working_days": ["mon", "tue", "wed", "thu", "fri"],
            "start": "09:00",
            "end": "17:00",
        },
        "post_issue": False,
        "issue_title": "Community health report for {repo}: {start} to {end}",
    },
    "welcome": {"enabled": True, "template": ".github/maintbot/welcome.md.j2"},
    "commands": {"enabled": True, "min_permission": "triage"},
}


def test_every_default():
    assert Config.default().to_dict() == EXPECTED_DEFAULTS


def test_attribute_access_reads_the_same_defaults():
    config = Config.default()
    assert config.bench.thresholds.accuracy_drop_points == 0.5
    assert config.bench.thresholds.alpha == 0.05
    assert config.triage.duplicates.similarity_threshold == 0.6
    assert config.report.business_hours.working_days == ("mon", "tue", "wed", "thu", "fri")
    assert config.labels.types["feature"] == "enhancement"


@pytest.mark.parametrize(
    "text",
    ["", "\n\n", "# only a comment\n", "---\n", "~\n", "null\n", "version: 1\n"],
)
def test_empty_file_means_defaults(text):
    assert parse_config(text) == Config.default()


def test_empty_section_means_its_defaults():
    text = "triage:\n  # enabled: false\nreport:\n"
    assert parse_config(text) == Config.default()


def test_empty_list_key_means_an_empty_list():
    assert parse_config("report:\n  ignore_users:\n").report.ignore_users == ()


def test_partial_file_changes_only_what_it_names():
    config = parse_config("bench:\n  thresholds:\n    alpha: 0.01\n")
    expected = yaml.safe_load(yaml.safe_dump(EXPECTED_DEFAULTS))
    expected["bench"]["thresholds"]["alpha"] = 0.01
    assert config.to_dict() == expected


def test_label_types_merge_extend_and_drop():
    config = parse_config(
        "labels:\n  types:\n    feature: 'type: feature'\n    perf: performance\n    docs: ~\n"
    )
    assert dict(config.labels.types) == {
        "bug": "bug",
        "feature": "type: feature",
        "question": "question",
        "perf": "performance",
    }


def test_label_style_merges_per_field_and_new_roles_get_plain_defaults():
    config = parse_config(
        "labels:\n"
        "  types:\n"
        "    perf: performance\n"
        "  styles:\n"
        "    bug:\n"
        "      color: '000000'\n"
        "    perf:\n"
        "      description: Slow\n"
    )
    assert config.labels.styles["bug"].color == "000000"
    assert config.labels.styles["bug"].description == "Something isn't working"
    assert (config.labels.styles["perf"].color, config.labels.styles["perf"].description) == (
        "ededed",
        "Slow",
    )
    assert config.labels.style_for("unheard_of").color == "ededed"


def test_unquoted_clock_times_and_hex_colours_keep_their_text():
    # YAML 1.1 reads 17:30 as the sexagesimal number 1050 and 000000 as the integer 0.
    config = parse_config(
        "report:\n  business_hours:\n    start: 08:15\n    end: 17:30\n"
        "labels:\n  styles:\n    bug:\n      color: 000000\n"
    )
    assert (config.report.business_hours.start, config.report.business_hours.end) == (
        "08:15",
        "17:30",
    )
    assert config.labels.styles["bug"].color == "000000"


def test_yes_no_booleans_and_integer_for_a_float():
    config = parse_config("bench:\n  comment: no\n  thresholds:\n    loss_increase_pct: 7\n")
    assert config.bench.comment is False
    assert config.bench.thresholds.loss_increase_pct == 7.0
    assert isinstance(config.bench.thresholds.loss_increase_pct, float)


def test_null_for_an_optional_label_turns_it_off():
    assert parse_config("labels:\n  needs_info: ~\n").labels.needs_info is None


def test_config_is_frozen_hashable_and_picklable():
    config = parse_config("labels:\n  types:\n    perf: performance\n")
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.bench.seeds = 1  # type: ignore[misc]
    with pytest.raises(TypeError):
        config.labels.types["bug"] = "x"  # type: ignore[index]
    assert hash(config) == hash(parse_config("labels:\n  types:\n    perf: performance\n"))
    assert pickle.loads(pickle.dumps(config)) == config


def test_dumped_effective_config_parses_back_to_itself():
    config = parse_config(
        "labels:\n  types:\n    perf: performance\n  needs_info: ~\n"
        "report:\n  business_hours: {enabled: true, start: '08:00', end: '16:00'}\n"
    )
    dumped = yaml.safe_dump(config.to_dict(), sort_keys=False)
    assert parse_config(dumped) == config


def test_labels_helpers():
    labels = LabelsConfig()
    assert labels.label_for("feature") == "enhancement"
    assert labels.label_for("nonsense") is None
    assert labels.type_for("Enhancement") == "feature"
    assert labels.is_triaged(["WontFix"])
    assert labels.is_triaged(["good first issue", "documentation"])
    assert not labels.is_triaged(["good first issue", "needs-triage"])
    relaxed = dataclasses.replace(labels, type_labels_mean_triaged=False)
    assert not relaxed.is_triaged(["documentation"])


def test_label_palette_for_creating_labels_uses_the_repository_names():
    config = parse_config(
        "labels:\n  types:\n    bug: 'type: bug'\n    docs: ~\n  possible_duplicate: ~\n"
    )
    assert config.labels.palette() == {
        "type: bug": ("d73a4a", "Something isn't working"),
        "enhancement": ("a2eeef", "New feature or request"),
        "question": ("d876e3", "Further information is requested"),
        "needs-triage": ("fbca04", "maintbot was not sure; a maintainer should label it"),
        "needs-info": ("e4e669", "The report is missing details maintbot asked for"),
    }


def test_triage_ignores_bots_always_and_listed_authors():
    config = parse_config("triage:\n  ignore_authors: [Release-Robot]\n")
    assert config.triage.ignores_author("dependabot[bot]")
    assert config.triage.ignores_author("some-app", is_bot=True)
    assert config.triage.ignores_author("release-robot")
    assert not config.triage.ignores_author("octocat")


def test_missing_info_items_are_checked():
    with pytest.raises(ConfigError) as err:
        parse_config("triage:\n  missing_info:\n    ask_for: [versions, horoscope]\n")
    assert "triage.missing_info.ask_for[1]" in str(err.value)


def test_report_issue_title():
    config = parse_config("report:\n  issue_title: '{repo} health, {window_days} days to {end}'\n")
    title = config.report.render_issue_title(repo="o/r", start="2024-01-01", end="2024-01-31")
    assert title == "o/r health, 30 days to 2024-01-31"


# --------------------------------------------------------------------------------- load_config


def test_load_config_none_means_defaults():
    assert load_config(None) == Config.default()


def test_load_config_reads_a_file_and_names_it_in_errors(tmp_path):
    good = tmp_path / "maintbot.yml"
    good.write_text("bench:\n  seeds: 5\n", encoding="utf-8")
    assert load_config(good).bench.seeds == 5
    assert load_config(str(good)).bench.seeds == 5

    bad = tmp_path / "bad.yml"
    bad.write_text("bench:\n  seeds: 5\n  seeds: 6\n", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(bad)
    assert str(caught.value).startswith(f"{bad}:3: bench.seeds:")


def test_load_config_missing_file(tmp_path):
    with pytest.raises(ConfigError) as caught:
        load_config(tmp_path / "nope.yml")
    assert "not found" in caught.value.message
    assert "--config" in caught.value.hint


def test_load_config_directory(tmp_path):
    with pytest.raises(ConfigError) as caught:
        load_config(tmp_path)
    assert "directory" in caught.value.message


def test_load_config_accepts_a_byte_order_mark_and_refuses_non_utf8(tmp_path):
    bom = tmp_path / "bom.yml"
    bom.write_bytes(b"\xef\xbb\xbfbench:\n  epochs: 2\n")
    assert load_config(bom).bench.epochs == 2

    latin = tmp_path / "latin.yml"
    latin.write_bytes(b"labels:\n  needs_triage: \xe0 trier\n")
    with pytest.raises(ConfigError) as caught:
        load_config(latin)
    assert caught.value.line == 2
    assert "UTF-8" in caught.value.message
