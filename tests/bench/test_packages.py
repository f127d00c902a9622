"""The packages a change touches, with plain values: which files, the diff, the comment rows."""

from __future__ import annotations

from bot.bench.packages import (
    DEPENDENCY_FILES,
    Change,
    PackageDiff,
    canonical_name,
    dependency_files,
    diff,
    from_results,
    markdown,
    parse_freeze,
)
from bot.bench.venvs import install_arguments
from bot.config.schema import DEFAULT_SHARED_PATHS


def test_dependency_files_are_the_installable_ones_and_always_affect_every_model():
    changed = [
        "README.md",
        "requirements.txt",
        "ci/requirements-gpu.txt",
        "requirements/dev.in",
        "constraints.txt",
        "poetry.lock",
        "pyproject.toml",
        "src/pyproject.toml.bak",
        "reference_models/mnist_mlp.py",
    ]
    assert dependency_files(changed) == [
        "ci/requirements-gpu.txt",
        "constraints.txt",
        "poetry.lock",
        "pyproject.toml",
        "requirements.txt",
        "requirements/dev.in",
    ]
    assert dependency_files(["README.md", "docs/x.md"]) == []
    assert set(DEPENDENCY_FILES) <= set(DEFAULT_SHARED_PATHS)


def test_names_are_compared_per_pep_503():
    assert canonical_name("Foo_Bar.baz") == canonical_name("foo-bar-baz") == "foo-bar-baz"
    assert parse_freeze(
        "# comment\nSix==1.16.0\n-e git+https://x#egg=y\nTyping_Extensions==4.1\n"
        "pkg @ file:///tmp/pkg.whl\nsix==9\n\n"
    ) == {"six": "1.16.0", "typing-extensions": "4.1", "pkg": "file:///tmp/pkg.whl"}


def test_the_diff_has_added_removed_and_changed_with_both_versions():
    base = {"six": "1.16.0", "Typing_Extensions": "4.1", "gone": "1.0", "same": "2.0"}
    head = {"six": "1.17.0", "typing-extensions": "4.1", "same": "2.0", "New.Pkg": "0.1"}
    result = diff(base, head)
    assert result.changes == (
        Change("gone", "1.0", None),
        Change("new-pkg", None, "0.1"),
        Change("six", "1.16.0", "1.17.0"),
    )
    assert [c.name for c in result.added] == ["new-pkg"]
    assert [c.name for c in result.removed] == ["gone"]
    assert [(c.base, c.head) for c in result.changed] == [("1.16.0", "1.17.0")]
    assert diff(base, base).changes == ()


def test_the_results_object_round_trips():
    result = diff({"six": "1.16.0"}, {"six": "1.17.0"})
    stored = result.to_results(["./requirements.txt"])
    assert stored == {
        "files": ["requirements.txt"],
        "changes": [{"name": "six", "base": "1.16.0", "head": "1.17.0"}],
        "change_count": 1,
    }
    assert from_results(stored) == (["requirements.txt"], result, 1)


def test_the_comment_names_each_package_with_both_versions():
    result = diff({"six": "1.16.0", "old": "1"}, {"six": "1.17.0"})
    lines = markdown(["requirements.txt"], result)
    text = "\n".join(lines)
    assert "each side ran in its own environment" in text
    # inline() escapes a leading "1." (an ordered list in markdown); it renders as 1.16.0
    assert "| six | 1\\.16.0 | 1\\.17.0 | changed |" in lines
    assert "| old | 1 | — | removed |" in lines
    same = "\n".join(markdown(["requirements.txt"], PackageDiff(())))
    assert "resolved to the same package versions" in same


def test_untrusted_names_versions_and_paths_stay_inert():
    hostile = PackageDiff((Change("@admin|<b>x</b>", "1", "[y](https://e.vil)"),))
    text = "\n".join(markdown(["req|@u.txt"], hostile))
    assert "@admin" not in text and "<b>" not in text and "](https://" not in text
    row = next(line for line in text.splitlines() if "admin" in line)
    assert row.count(" | ") == 3  # no cell broke out of its column


def test_the_table_is_bounded():
    many = PackageDiff(tuple(Change(f"p{i:03}", "1", "2") for i in range(150)))
    lines = markdown(["requirements.txt"], many)
    assert sum(line.startswith("| p") and "| 2 |" in line for line in lines) == 100
    assert "| … | | | 50 more |" in lines
    assert len(many.to_results(["r.txt"])["changes"]) == 100


def test_install_arguments_follow_the_sides_own_files(tmp_path):
    (tmp_path / "requirements.txt").write_text("six==1.16.0\n")
    (tmp_path / "constraints.txt").write_text("six<2\n")
    (tmp_path / "pyproject.toml").write_text("[project]\nname='x'\n")
    (tmp_path / "poetry.lock").write_text("")
    files = ["constraints.txt", "poetry.lock", "pyproject.toml", "requirements.txt", "gone.txt"]
    assert install_arguments(tmp_path, files) == [
        "-r",
        str(tmp_path / "requirements.txt"),
        "-c",
        str(tmp_path / "constraints.txt"),
        str(tmp_path),
    ]
    assert install_arguments(tmp_path, ["constraints.txt"]) == []  # nothing to install
    assert install_arguments(tmp_path, ["requirements-dev.txt"]) == []  # absent on this side
