"""A bad maintbot.yml fails with the file, the line, the key path and a hint."""

from __future__ import annotations

import textwrap

import pytest

from bot.config.loader import parse_config
from bot.errors import ConfigError, ExitCode

SOURCE = ".github/maintbot.yml"


def fails(text: str) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        parse_config(textwrap.dedent(text).lstrip("\n"), source=SOURCE)
    return caught.value


def assert_points_at(err: ConfigError, key: str, line: int) -> None:
    """The message itself (what a person reads) names the file:line and the key path."""
    assert err.key == key
    assert err.line == line
    assert f"{SOURCE}:{line}: {key}: " in str(err)
    assert err.hint, "every error says what to do"
    assert err.exit_code == ExitCode.USAGE


# ------------------------------------------------------------------ the four bars of the issue


def test_unknown_key_deep_in_the_file_names_key_line_allowed_keys_and_closest():
    err = fails(
        """
        version: 1
        bench:
          seeds: 3
          thresholds:
            alpha: 0.05

            acuracy_drop_points: 0.7
        """
    )
    assert_points_at(err, "bench.thresholds.acuracy_drop_points", 7)
    for allowed in ("accuracy_drop_points", "loss_increase_pct", "alpha"):
        assert allowed in err.message
    assert "accuracy_drop_points'?" in err.hint


def test_wrong_type_says_expected_and_got():
    err = fails(
        """
        # maintbot settings
        triage:
          enabled: true
          duplicates:
            enabled: true
            max_candidates: 3
        bench:
          epochs: 5
          seeds: three
        """
    )
    assert_points_at(err, "bench.seeds", 9)
    assert "expected a whole number" in err.message
    assert "'three'" in err.message


def test_bad_yaml_reports_parser_line_and_the_keys_it_was_inside():
    err = fails(
        """
        version: 1
        report:
          window_days: 30
          business_hours:
            enabled: true
            working_days: [mon, tue
            start: "09:00"
        """
    )
    assert_points_at(err, "report.business_hours.working_days", 7)
    assert "invalid YAML" in err.message


def test_out_of_range_precision_above_one():
    err = fails(
        """
        labels:
          needs_triage: needs-triage
        triage:
          enabled: true
          model: ""
          comment_on_low_confidence: false
          min_precision: 1.5
        """
    )
    assert_points_at(err, "triage.min_precision", 7)
    assert "1.5" in err.message


def test_negative_epochs():
    err = fails(
        """
        bench:
          models:
            - mnist_mlp
          seeds: 3
          epochs: -2
        """
    )
    assert_points_at(err, "bench.epochs", 5)
    assert "-2" in err.message


def test_unknown_model_name_in_a_list_points_at_the_item():
    err = fails(
        """
        bench:
          models:
            - mnist_mlp
            - mnist_rnn
        """
    )
    assert_points_at(err, "bench.models[1]", 4)
    assert "mnist_rnn" in err.message
    assert "mnist_cnn" in err.hint  # the closest known name


# ------------------------------------------------------------------------------ other mistakes


def test_tab_indentation_is_a_yaml_error_with_its_line():
    err = fails("triage:\n  duplicates:\n\tenabled: true\n")
    assert err.line == 3
    assert err.key == "triage.duplicates"
    assert "tabs" in err.hint


def test_key_written_twice_is_refused():
    err = fails(
        """
        bench:
          seeds: 3
          epochs: 5
          seeds: 4
        """
    )
    assert_points_at(err, "bench.seeds", 4)
    assert "line 2" in err.message


def test_key_of_another_section_is_pointed_to_its_section():
    err = fails(
        """
        version: 1
        seeds: 3
        """
    )
    assert_points_at(err, "seeds", 2)
    assert "bench" in err.hint


def test_top_level_must_be_a_mapping():
    err = fails("- bench\n- triage\n")
    assert err.line == 1
    assert "mapping" in err.message


def test_section_given_a_scalar():
    err = fails("triage: yes\n")
    assert_points_at(err, "triage", 1)
    assert "mapping" in err.message


def test_unknown_version_is_refused_before_anything_else():
    err = fails(
        """
        bench:
          new_v2_key: 1
        version: 2
        """
    )
    assert_points_at(err, "version", 3)
    assert "version 2" in err.message


def test_quoted_boolean_is_a_string_not_true():
    err = fails('bench:\n  comment: "yes"\n')
    assert_points_at(err, "bench.comment", 2)
    assert "true or false" in err.message


def test_boolean_where_a_label_name_is_expected_suggests_quoting():
    err = fails("labels:\n  needs_triage: no\n")
    assert_points_at(err, "labels.needs_triage", 2)
    assert '"no"' in err.hint


def test_single_name_where_a_list_is_expected():
    err = fails("report:\n  ignore_users: dependabot\n")
    assert_points_at(err, "report.ignore_users", 2)
    assert "[dependabot]" in err.hint


def test_unquoted_hash_colour_becomes_a_comment_and_the_hint_says_so():
    err = fails("labels:\n  styles:\n    bug:\n      color: #d73a4a\n")
    assert_points_at(err, "labels.styles.bug.color", 4)
    assert "#" in err.hint


def test_badly_shaped_colour():
    err = fails("labels:\n  styles:\n    bug:\n      color: red\n")
    assert_points_at(err, "labels.styles.bug.color", 4)


def test_style_keyed_by_label_name_instead_of_role():
    err = fails("labels:\n  styles:\n    enhancement:\n      color: a2eeef\n")
    assert_points_at(err, "labels.styles.enhancement", 3)


def test_two_types_on_one_label():
    err = fails("labels:\n  types:\n    feature: Bug\n")
    assert_points_at(err, "labels.types.feature", 3)
    assert "'bug'" in err.message


def test_status_label_clashing_with_a_type_label():
    err = fails("labels:\n  needs_info: question\n")
    assert_points_at(err, "labels.needs_info", 2)


def test_invalid_issue_type_name():
    err = fails("labels:\n  types:\n    Feature Request: enhancement\n")
    assert_points_at(err, "labels.types.Feature Request", 3)


def test_label_name_longer_than_github_allows():
    err = fails(f"labels:\n  types:\n    bug: {'b' * 51}\n")
    assert_points_at(err, "labels.types.bug", 3)
    assert "50" in err.message


def test_missing_info_for_a_type_that_was_dropped():
    err = fails(
        """
        labels:
          types:
            bug: ~
        triage:
          missing_info:
            types: [bug]
        """
    )
    assert_points_at(err, "triage.missing_info.types[0]", 6)


def test_dropping_the_type_the_default_missing_info_check_needs_points_at_the_drop():
    err = fails(
        """
        labels:
          needs_triage: triage
          types:
            bug: ~
        """
    )
    assert_points_at(err, "triage.missing_info.types[0]", 4)


def test_business_hours_ending_before_they_start():
    err = fails(
        """
        report:
          business_hours:
            enabled: true
            start: "18:00"
            end: "09:30"
        """
    )
    assert_points_at(err, "report.business_hours.end", 5)
    assert "18:00" in err.message and "09:30" in err.message


def test_start_after_the_default_end_points_at_start():
    err = fails('report:\n  business_hours:\n    start: "17:30"\n')
    assert_points_at(err, "report.business_hours.end", 3)


def test_unknown_time_zone():
    err = fails("report:\n  business_hours:\n    timezone: Europe/Pariss\n")
    assert_points_at(err, "report.business_hours.timezone", 3)


def test_time_not_in_hh_mm():
    err = fails('report:\n  business_hours:\n    start: "9am"\n')
    assert_points_at(err, "report.business_hours.start", 3)


def test_weekday_typo_suggests_the_day():
    err = fails("report:\n  business_hours:\n    working_days: [mon, tues]\n")
    assert_points_at(err, "report.business_hours.working_days[1]", 3)
    assert "'tue'" in err.hint


def test_invalid_cron():
    err = fails('report:\n  window_days: 30\n  schedule: "0 25 * * *"\n')
    assert_points_at(err, "report.schedule", 3)
    assert "hour" in err.message


def test_unknown_report_format():
    err = fails("report:\n  format: htm\n")
    assert_points_at(err, "report.format", 2)
    assert "'html'" in err.hint


def test_issue_title_with_unknown_placeholder():
    err = fails('report:\n  issue_title: "Report for {repository}"\n')
    assert_points_at(err, "report.issue_title", 2)
    assert "{repo}" in err.message


def test_login_with_at_sign():
    err = fails("triage:\n  ignore_authors:\n    - octocat\n    - '@hubot'\n")
    assert_points_at(err, "triage.ignore_authors[1]", 4)


def test_repeated_model():
    err = fails("bench:\n  models: [mnist_mlp, mnist_mlp]\n")
    assert_points_at(err, "bench.models", 2)
    assert "twice" in err.message


def test_empty_model_list():
    err = fails("bench:\n  models: []\n")
    assert_points_at(err, "bench.models", 2)


def nested_yaml(dotted_key: str, value: str) -> str:
    """``a.b.c`` and ``1`` → "a:\\n  b:\\n    c: 1\\n": the value sits on the line of its depth."""
    *sections, leaf = dotted_key.split(".")
    lines = [f"{'  ' * depth}{name}:" for depth, name in enumerate(sections)]
    return "\n".join([*lines, f"{'  ' * len(sections)}{leaf}: {value}"]) + "\n"


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("bench.seeds", "1"),
        ("bench.timeout_minutes", "361"),
        ("bench.thresholds.alpha", "0"),
        ("bench.thresholds.alpha", "0.6"),
        ("bench.thresholds.loss_increase_pct", "-1"),
        ("bench.thresholds.accuracy_drop_points", ".inf"),
        ("bench.thresholds.accuracy_drop_points", "101"),
        ("triage.duplicates.similarity_threshold", "0"),
        ("triage.duplicates.max_candidates", "0"),
        ("report.window_days", "0"),
        ("bench.epochs", "2.5"),
        ("commands.min_permission", "read"),
        ("triage.duplicates.closed_within_days", "-1"),
        ("labels.styles.bug.description", "x" * 101),
        ("report.issue_title", "'{start'"),
    ],
)
def test_values_out_of_range(key, value):
    assert_points_at(fails(nested_yaml(key, value)), key, key.count(".") + 1)


def test_yaml_merge_keys_are_refused_clearly():
    err = fails("triage:\n  <<: {enabled: false}\n")
    assert err.line == 2
    assert "<<" in err.message


def test_control_character():
    err = fails("bench:\n  seeds: 3\x07\n")
    assert err.line == 2


def test_several_yaml_documents_are_refused():
    err = fails("bench:\n  seeds: 3\n---\nbench:\n  seeds: 4\n")
    assert err.line == 3


# ------------------------------------------------------------------ bench: models of your own


def test_a_module_path_names_a_model_of_the_repository():
    config = parse_config(
        "bench:\n  models: [mnist_cnn, examples.my_model]\n"
        "  paths:\n    models:\n      examples.my_model: [data/mine/**]\n"
    )
    assert config.bench.models == ("mnist_cnn", "examples.my_model")
    assert config.bench.paths.models["examples.my_model"] == ("data/mine/**",)


def test_a_file_path_is_not_a_module_path():
    err = fails(
        """
        bench:
          models:
            - mnist_mlp
            - examples/my_model.py
        """
    )
    assert_points_at(err, "bench.models[1]", 4)
    assert "is not a Python module path" in err.message
    assert "examples.my_model" in err.hint


def test_a_reference_model_by_its_module_is_pointed_to_its_name():
    err = fails("bench:\n  models: [reference_models.mnist_cnn]\n")
    assert_points_at(err, "bench.models[0]", 2)
    assert "write 'mnist_cnn'" in err.message


def test_a_path_pattern_outside_the_repository_points_at_the_item():
    err = fails(
        """
        bench:
          paths:
            shared:
              - pyproject.toml
              - /etc/passwd
        """
    )
    assert_points_at(err, "bench.paths.shared[1]", 5)
    assert "relative to the repository root" in err.message


def test_paths_for_a_model_that_is_not_a_model_name():
    err = fails(
        """
        bench:
          paths:
            models:
              examples/my_model.py: [data/**]
        """
    )
    assert_points_at(err, "bench.paths.models.examples/my_model.py", 4)


def test_paths_for_a_model_that_is_not_benchmarked():
    err = fails(
        """
        bench:
          models: [mnist_mlp]
          paths:
            models:
              mnist_cnn: [data/cnn/**]
        """
    )
    assert_points_at(err, "bench.paths.models.mnist_cnn", 5)
    assert "not benchmarked" in err.message


def test_a_bad_pattern_in_a_models_paths():
    err = fails("bench:\n  paths:\n    models:\n      mnist_mlp: [../shared/**]\n")
    assert_points_at(err, "bench.paths.models.mnist_mlp", 4)
    assert "leaves the repository" in err.message
