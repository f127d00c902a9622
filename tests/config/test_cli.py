"""``maintbot config check`` and ``config show`` run as click commands on real files."""

from __future__ import annotations

import json

import pytest
import yaml
from click.testing import CliRunner

from bot.cli import cli
from bot.config.cli import config as config_group
from bot.config.loader import parse_config
from bot.config.schema import Config


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def test_check_ok(runner, tmp_path):
    path = tmp_path / "maintbot.yml"
    path.write_text("bench:\n  seeds: 4\n", encoding="utf-8")
    result = runner.invoke(config_group, ["check", str(path)])
    assert result.exit_code == 0
    assert result.stdout.startswith("ok")


def test_check_error_prints_line_key_hint_and_exits_2(runner, tmp_path):
    path = tmp_path / "maintbot.yml"
    path.write_text("version: 1\nbench:\n  thresholds:\n    alpah: 0.1\n", encoding="utf-8")
    result = runner.invoke(config_group, ["check", str(path)])
    assert result.exit_code == 2
    assert f"{path}:4: bench.thresholds.alpah: unknown key" in result.stderr
    assert "Hint: Did you mean 'bench.thresholds.alpha'?" in result.stderr
    assert result.stdout == ""


def test_check_missing_file_exits_2(runner, tmp_path):
    result = runner.invoke(config_group, ["check", str(tmp_path / "absent.yml")])
    assert result.exit_code == 2
    assert "not found" in result.stderr


def test_check_without_path_uses_the_repository_file_in_the_working_directory(
    runner, tmp_path, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(config_group, ["check"])
    assert result.exit_code == 0
    assert "defaults" in result.stdout

    (tmp_path / ".github").mkdir()
    (tmp_path / ".github" / "maintbot.yml").write_text("bench:\n  seeds: 0\n", encoding="utf-8")
    result = runner.invoke(config_group, ["check"])
    assert result.exit_code == 2
    assert ".github/maintbot.yml:2: bench.seeds:" in result.stderr


def test_show_prints_the_effective_config_as_yaml_that_parses_back(runner, tmp_path):
    path = tmp_path / "maintbot.yml"
    path.write_text("report:\n  window_days: 90\n", encoding="utf-8")
    result = runner.invoke(config_group, ["show", str(path)])
    assert result.exit_code == 0
    shown = yaml.safe_load(result.stdout)
    assert shown["report"]["window_days"] == 90
    assert shown["bench"]["seeds"] == 3  # a default filled in
    assert parse_config(result.stdout).report.window_days == 90


def test_show_json(runner, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(config_group, ["show", "--json"])
    assert result.exit_code == 0
    shown = json.loads(result.stdout)
    assert shown["labels"]["types"]["feature"] == "enhancement"
    assert shown == json.loads(json.dumps(Config.default().to_dict()))


def test_show_invalid_file_exits_2(runner, tmp_path):
    path = tmp_path / "maintbot.yml"
    path.write_text("report: [monthly]\n", encoding="utf-8")
    result = runner.invoke(config_group, ["show", str(path)])
    assert result.exit_code == 2
    assert "report: expected a mapping" in result.stderr


@pytest.mark.parametrize(
    "args",
    [["--json", "config", "show"], ["config", "show", "--json"], ["config", "--json", "show"]],
    ids=["before the command", "after it", "after the group"],
)
def test_global_config_and_json_options_of_the_main_cli_are_honoured(runner, tmp_path, args):
    """Under the main CLI, ``--config`` and ``--json`` (wherever it is) reach ``config``."""
    path = tmp_path / "custom.yml"
    path.write_text("bench:\n  epochs: 9\n", encoding="utf-8")
    result = runner.invoke(cli, ["--config", str(path), *args])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["bench"]["epochs"] == 9
    result = runner.invoke(cli, ["--config", str(path), "config", "show"])
    assert yaml.safe_load(result.stdout)["bench"]["epochs"] == 9  # YAML without --json
    result = runner.invoke(cli, ["--config", str(path), "config", "check"])
    assert result.stdout == f"ok: {path}\n"
