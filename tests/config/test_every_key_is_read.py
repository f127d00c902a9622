"""No dead configuration: every key of ``.github/maintbot.yml`` has a test that sets it to a
value other than its default and sees maintbot behave differently.

``KEY_TESTS`` is the ledger: each leaf key (as ``code_keys`` in tests/config/test_docs.py
walks them; sections that only group other keys are left out, and the style entries of
``labels.styles.<role>`` are shown by ``labels.styles``' test) maps to the pytest node id of
the test that toggles it. The tests here check the ledger against the code (every key has an
entry, no entry names a key that is gone) and each entry against its test (the file and the
function exist, and the function's source names the key), so an entry cannot point at an
unrelated test. A key no test can toggle is dead: build what reads it, or remove it.
"""

from __future__ import annotations

import ast
import dataclasses
from functools import cache

import pytest

from bot.config.schema import Config
from tests.config.test_docs import ANY_ENTRY, code_keys, default_at
from tests.paths import REPO_ROOT

EFFECTS = "tests/config/test_key_effects.py"
DUPLICATES = "tests/triage/test_duplicate_handlers.py"
MISSING_INFO = "tests/triage/test_missing_info_handlers.py"

KEY_TESTS: dict[str, str] = {
    "version": "tests/config/test_errors.py::test_unknown_version_is_refused_before_anything_else",
    # labels
    "labels.types": f"{EFFECTS}::test_labels_types_names_the_label_applied_for_a_type",
    "labels.needs_triage": "tests/triage/test_policy.py::test_a_renamed_needs_triage_label_is_used",
    "labels.already_triaged": (
        f"{EFFECTS}::test_labels_already_triaged_keeps_the_bot_off_an_issue_carrying_one"
    ),
    "labels.type_labels_mean_triaged": (
        "tests/triage/test_policy.py::test_type_labels_can_be_configured_not_to_mean_triaged"
    ),
    "labels.create_missing": (
        f"{EFFECTS}::test_labels_create_missing_false_leaves_out_a_label_the_repository_lacks"
    ),
    "labels.styles": f"{EFFECTS}::test_labels_styles_colour_and_describe_a_label_maintbot_creates",
    "labels.needs_info": f"{MISSING_INFO}::test_needs_info_label_name_from_config",
    "labels.possible_duplicate": (
        f"{EFFECTS}::test_labels_possible_duplicate_is_the_label_add_label_puts_on"
    ),
    # triage
    "triage.enabled": "tests/triage/test_policy.py::test_issues_the_bot_keeps_off",
    "triage.model": f"{EFFECTS}::test_triage_model_chooses_the_classifier",
    "triage.min_precision": f"{EFFECTS}::test_triage_min_precision_moves_the_confidence_threshold",
    "triage.comment_on_low_confidence": (
        "tests/triage/test_policy.py::test_an_unsure_prediction_comments_only_when_the_repository_asks"
    ),
    "triage.ignore_authors": "tests/triage/test_policy.py::test_issues_the_bot_keeps_off",
    "triage.duplicates.enabled": f"{DUPLICATES}::test_switched_off_does_nothing",
    "triage.duplicates.similarity_threshold": (
        f"{EFFECTS}::test_duplicates_similarity_threshold_is_the_score_a_listed_issue_needs"
    ),
    "triage.duplicates.max_candidates": (
        f"{EFFECTS}::test_duplicates_max_candidates_is_how_many_issues_are_listed"
    ),
    "triage.duplicates.closed_within_days": (
        f"{EFFECTS}::test_duplicates_closed_within_days_leaves_out_issues_closed_before"
    ),
    "triage.duplicates.add_label": (
        f"{EFFECTS}::test_duplicates_add_label_labels_an_issue_with_duplicates"
    ),
    "triage.missing_info.enabled": f"{MISSING_INFO}::test_configuration_turns_it_off",
    "triage.missing_info.types": f"{MISSING_INFO}::test_only_the_configured_types",
    "triage.missing_info.ask_for": (
        f"{MISSING_INFO}::test_ask_for_and_needs_info_null_change_what_is_written"
    ),
    "triage.learn_from_corrections": (
        "tests/triage/test_correction_handlers.py"
        "::test_what_is_not_a_correction_is_skipped_with_its_reason"
    ),
    # bench
    "bench.enabled": (
        "tests/bench/test_cli.py::test_pr_with_the_benchmark_switched_off_trains_nothing_and_says_so"
    ),
    "bench.models": f"{EFFECTS}::test_bench_models_are_the_models_a_pr_is_judged_on",
    "bench.seeds": f"{EFFECTS}::test_bench_seeds_and_epochs_are_how_long_bench_run_trains",
    "bench.epochs": f"{EFFECTS}::test_bench_seeds_and_epochs_are_how_long_bench_run_trains",
    "bench.early_stop": f"{EFFECTS}::test_bench_early_stop_ends_a_clear_verdict_early",
    "bench.reuse_base": f"{EFFECTS}::test_bench_reuse_base_false_trains_the_base_despite_a_record",
    "bench.data_branch": f"{EFFECTS}::test_bench_data_branch_is_where_records_are_written_and_read",
    "bench.timeout_minutes": f"{EFFECTS}::test_bench_timeout_minutes_is_each_runs_time_limit",
    "bench.thresholds.accuracy_drop_points": (
        f"{EFFECTS}::test_accuracy_drop_points_decides_how_big_a_drop_is_a_regression"
    ),
    "bench.thresholds.loss_increase_pct": (
        f"{EFFECTS}::test_loss_increase_pct_decides_how_big_a_loss_rise_is_a_regression"
    ),
    "bench.thresholds.time_increase_pct": (
        f"{EFFECTS}::test_time_increase_pct_decides_how_much_slower_is_a_warning"
    ),
    "bench.thresholds.size_increase_pct": (
        f"{EFFECTS}::test_size_increase_pct_decides_how_much_bigger_is_a_warning"
    ),
    "bench.thresholds.alpha": f"{EFFECTS}::test_alpha_decides_how_sure_a_regression_must_be",
    "bench.comment": (
        "tests/bench/test_comment.py::test_the_configuration_can_turn_the_comment_or_the_check_off"
    ),
    "bench.check": (
        "tests/bench/test_comment.py::test_the_configuration_can_turn_the_comment_or_the_check_off"
    ),
    "bench.fail_on_regression": (
        f"{EFFECTS}::test_fail_on_regression_false_makes_a_regression_neutral"
    ),
    "bench.paths.shared": (
        f"{EFFECTS}::test_bench_paths_shared_lists_the_files_every_model_depends_on"
    ),
    "bench.paths.models": f"{EFFECTS}::test_bench_paths_models_adds_files_one_model_depends_on",
    # report
    "report.enabled": (
        "tests/app/test_schedules.py::test_a_repository_with_the_report_off_is_not_scheduled"
    ),
    "report.schedule": f"{EFFECTS}::test_report_schedule_is_the_cron_line_that_posts_the_report",
    "report.window_days": f"{EFFECTS}::test_report_window_days_is_the_scheduled_reports_span",
    "report.format": f"{EFFECTS}::test_report_format_is_the_output_without_a_format_option",
    "report.ignore_users": f"{EFFECTS}::test_report_ignore_users_leaves_an_account_out",
    "report.bots_excluded": f"{EFFECTS}::test_report_bots_excluded_false_counts_bot_accounts",
    "report.business_hours.enabled": (
        f"{EFFECTS}::test_business_hours_enabled_counts_working_hours_only"
    ),
    "report.business_hours.timezone": (
        f"{EFFECTS}::test_business_hours_timezone_shifts_the_working_day"
    ),
    "report.business_hours.working_days": (
        f"{EFFECTS}::test_business_hours_working_days_choose_the_days_that_count"
    ),
    "report.business_hours.start": (
        f"{EFFECTS}::test_business_hours_start_and_end_bound_the_working_day"
    ),
    "report.business_hours.end": (
        f"{EFFECTS}::test_business_hours_start_and_end_bound_the_working_day"
    ),
    "report.post_issue": (
        f"{EFFECTS}::test_report_post_issue_and_issue_title_open_the_report_issue"
    ),
    "report.issue_title": (
        f"{EFFECTS}::test_report_post_issue_and_issue_title_open_the_report_issue"
    ),
    # welcome
    "welcome.enabled": (
        "tests/welcome/test_welcome.py::test_bots_disabled_and_broken_payloads_are_skipped"
    ),
    "welcome.template": (
        "tests/welcome/test_welcome.py::test_the_template_path_comes_from_the_config"
    ),
    # commands
    "commands.enabled": "tests/commands/test_handlers.py::test_commands_can_be_switched_off",
    "commands.min_permission": (
        "tests/commands/test_handlers.py::test_min_permission_is_read_from_the_config"
    ),
}


def leaf_keys() -> set[str]:
    """Every key a user sets to a value: not a section of other keys, not a free entry."""
    return {
        key
        for key in code_keys(Config)
        if ANY_ENTRY not in key and not dataclasses.is_dataclass(default_at(key))
    }


def test_the_leaf_keys_are_values_not_sections():
    leaves = leaf_keys()
    assert {"bench.thresholds.alpha", "labels.styles", "bench.paths.models"} <= leaves
    assert not {"bench", "bench.thresholds", "report.business_hours"} & leaves
    assert not any(ANY_ENTRY in key for key in leaves)


def test_every_key_has_a_test_that_toggles_it():
    missing = sorted(leaf_keys() - set(KEY_TESTS))
    assert not missing, (
        f"no test shows what these keys change (write one, or remove the key): {missing}"
    )


def test_the_ledger_names_only_keys_that_exist():
    gone = sorted(set(KEY_TESTS) - leaf_keys())
    assert not gone, f"the ledger names keys the configuration does not have: {gone}"


@cache
def functions_in(path: str) -> dict[str, str]:
    """``name`` or ``Class::name`` → the source of each test function in ``path``, decorators
    (a ``parametrize`` list) included."""
    source = (REPO_ROOT / path).read_text(encoding="utf-8")
    lines = source.splitlines()
    found: dict[str, str] = {}

    def visit(body: list[ast.stmt], prefix: str) -> None:
        for node in body:
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
                found[prefix + node.name] = "\n".join(lines[first - 1 : node.end_lineno])
            elif isinstance(node, ast.ClassDef):
                visit(node.body, f"{prefix}{node.name}::")

    visit(ast.parse(source, filename=path).body, "")
    return found


def split_node_id(node_id: str) -> tuple[str, str]:
    """``path::name[param]`` → (path, name): a parametrized test by its function's name."""
    path, _, name = node_id.partition("::")
    return path, name.split("[", 1)[0]


@pytest.mark.parametrize("key", sorted(KEY_TESTS))
def test_the_ledgers_test_exists_and_names_the_key(key):
    path, name = split_node_id(KEY_TESTS[key])
    assert name.rsplit("::", 1)[-1].startswith("test_"), f"{key}: {KEY_TESTS[key]} is no test"
    assert (REPO_ROOT / path).is_file(), f"{key}: {path} does not exist"
    functions = functions_in(path)
    assert name in functions, f"{key}: {path} defines no {name}"
    # the key as the test writes it: an attribute, a keyword, or YAML in a config string
    assert key.rsplit(".", 1)[-1] in functions[name], (
        f"{key}: {KEY_TESTS[key]} never mentions {key.rsplit('.', 1)[-1]!r}, so it cannot be "
        "the test that toggles it"
    )


def test_the_node_id_reader_handles_classes_and_parameters():
    assert split_node_id("tests/a.py::TestX::test_y[1-2]") == ("tests/a.py", "TestX::test_y")
    functions = functions_in("tests/config/test_every_key_is_read.py")
    assert "test_the_ledgers_test_exists_and_names_the_key" in functions
    assert functions["test_the_ledgers_test_exists_and_names_the_key"].startswith(
        "@pytest.mark.parametrize"
    )
