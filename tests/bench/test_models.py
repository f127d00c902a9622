"""Model names: a reference model's plain name or a repository module's dotted path."""

from __future__ import annotations

import pytest

from bot.bench.models import (
    check_names,
    code_folder,
    find_module,
    module_file,
    module_of,
    own_paths,
)
from bot.errors import ExitCode, UsageError


def test_a_plain_name_is_a_reference_model_module():
    assert module_of("mnist_mlp") == "reference_models.mnist_mlp"
    assert str(module_file("mnist_mlp")) == "reference_models/mnist_mlp.py"
    assert str(code_folder("mnist_mlp")) == "reference_models"


def test_a_dotted_name_is_the_repositorys_own_module():
    assert module_of("examples.my_model") == "examples.my_model"
    assert str(module_file("lab.models.tiny")) == "lab/models/tiny.py"
    assert str(code_folder("lab.models.tiny")) == "lab/models"
    assert own_paths("lab.models.tiny") == (
        "lab/models/tiny.py",
        "lab/models/tiny/**",
        "lab/__init__.py",
        "lab/models/__init__.py",
    )
    assert own_paths("mnist_cnn") == (
        "reference_models/mnist_cnn.py",
        "reference_models/mnist_cnn/**",
    )


def test_find_module_takes_a_file_or_a_package_with_main(tmp_path):
    assert find_module(tmp_path, "examples.my_model") is None
    (tmp_path / "examples").mkdir()
    (tmp_path / "examples" / "my_model.py").write_text("")
    assert find_module(tmp_path, "examples.my_model") == tmp_path / "examples" / "my_model.py"
    package = tmp_path / "lab" / "tiny"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    assert find_module(tmp_path, "lab.tiny") is None  # python -m needs a __main__.py
    (package / "__main__.py").write_text("")
    assert find_module(tmp_path, "lab.tiny") == package / "__main__.py"


@pytest.mark.parametrize(
    ("name", "says"),
    [
        ("resnet", "'resnet' is not a reference model"),
        ("mnist_mpl", "did you mean 'mnist_mlp'?"),
        ("examples.my-model", "is not a Python module path (bad part 'my-model')"),
        ("examples..model", "is not a Python module path"),
        ("lab.class.model", "bad part 'class'"),  # a keyword cannot be imported
        ("reference_models.mnist_mlp", "write 'mnist_mlp'"),
        ("a." + "b" * 120, "1 to 100 characters"),
    ],
)
def test_bad_names_are_usage_errors_that_say_what_is_wrong(name, says):
    with pytest.raises(UsageError) as caught:
        check_names(["mnist_mlp", name])
    assert says in caught.value.message
    assert caught.value.exit_code == ExitCode.USAGE
    assert "examples.my_model" in caught.value.hint


def test_good_names_pass_unchanged():
    names = ["mnist_cnn", "examples.my_model", "Lab.Models_2.tiny"]
    assert check_names(names) == names
