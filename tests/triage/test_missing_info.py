"""The missing-information check on real-looking ML bug reports: what it asks for and why.

Precision matters more than recall here: asking an author for versions they already gave is
the failure a maintainer notices. Every body below is written the way people write them.
"""

from __future__ import annotations

import time

import pytest

from bot.config.loader import parse_config
from bot.config.schema import MISSING_INFO_ITEMS, Config
from bot.triage.issue_templates import parse_template
from bot.triage.missing_info import (
    Asked,
    answer_lines,
    ask_text,
    asked_marker,
    check_missing_info,
    issue_types,
    parse_asked,
    plan_missing_info,
    skip_reason,
    thanks_text,
)
from tests.triage.test_issue_templates import GITHUB_MD, HF_FORM, ML_MD, TF_FORM, TORCH_FORM

TF = parse_template(".github/ISSUE_TEMPLATE/00-bug-issue.yml", TF_FORM)
TORCH = parse_template(".github/ISSUE_TEMPLATE/bug-report.yml", TORCH_FORM)
HF = parse_template(".github/ISSUE_TEMPLATE/bug-report.yaml", HF_FORM)
GH_MD = parse_template(".github/ISSUE_TEMPLATE/bug_report.md", GITHUB_MD)
ML = parse_template(".github/ISSUE_TEMPLATE/crash.md", ML_MD)
ALL_TEMPLATES = (TF, TORCH, HF, GH_MD, ML)

FENCE = "```"

TF_CODE = f"""{FENCE}python
import tensorflow as tf
x = tf.ragged.constant([[1, 2], [3]])
model = tf.keras.Sequential([tf.keras.layers.Dense(1)])
model.compile(loss="mse")
model.fit(x, tf.constant([1, 0]))
{FENCE}"""

TF_TRACEBACK = f"""{FENCE}
Traceback (most recent call last):
  File "repro.py", line 6, in <module>
    model.fit(x, tf.constant([1, 0]))
ValueError: Input 0 of layer "dense" is incompatible with the layer: expected min_ndim=2
{FENCE}"""

# A TensorFlow report without versions or OS: the bar scenario.
TF_NO_VERSIONS = f"""When I call `model.fit` on a ragged tensor the training crashes.

{TF_CODE}

{TF_TRACEBACK}
"""

TF_WITH_VERSIONS = (
    TF_NO_VERSIONS
    + "\nTensorFlow version: 2.15.0, Python 3.11.6, CUDA 12.2 on Ubuntu 22.04 with an RTX 3090.\n"
)


def missing(body, templates=(), **kwargs):
    return check_missing_info(body, templates, **kwargs).missing


# ------------------------------------------------------------------------------ free-form bodies


def test_tf_report_without_versions_asks_for_versions_and_os_only():
    report = check_missing_info(TF_NO_VERSIONS, title="model.fit crashes on ragged input")
    assert report.missing == ("versions", "os")
    assert report.why["reproduction"] == "a code block with code"
    assert report.why["error"] == "a traceback is given"
    assert "does not fail" in report.why["expected"]  # a crash: the expectation is no crash
    assert report.frameworks == ("tensorflow",)


def test_the_same_report_with_versions_in_prose_asks_nothing():
    report = check_missing_info(TF_WITH_VERSIONS)
    assert report.missing == ()
    assert report.why["versions"] == "a version is given (tensorflow)"
    assert report.why["os"] == "the OS is named (ubuntu)"


@pytest.mark.parametrize(
    "sentence",
    [
        "I'm using tensorflow 2.15 on my machine.",
        "TF2.16.1 from pip.",
        "tf-nightly 2.17.0.dev20240315",
        "I tried with tf-nightly and it still fails.",
        "torch==2.1.0+cu121",
        "PyTorch 2.2 with torchvision 0.17",
        "Python version: 3.10.12",
        "python3.11 from pyenv",
        "numpy                     1.26.4",
        "CUDA Version: 12.2",
        "cuDNN 8.9.7",
        "- **TensorFlow version**: 2.15",
        "- `transformers` version: 4.35.2",
        "TensorFlow version (use command below): v2.15.0",
        ">>> tf.__version__\n'2.15.0'",
        "v2.15.0-rc1-8-g6887368d6d4 2.15.0",
        "jax 0.4.23, jaxlib 0.4.23+cuda12.cudnn89",
        "keras-nlp==0.7.0",
        "- TensorFlow installation (2.9.1+nv22.9):",
        "- TensorFlow library (version, if pip package): 2.14.0-dev20230622",
    ],
)
def test_versions_given_in_many_shapes_are_not_asked_for(sentence):
    body = f"Training crashes.\n\n{sentence}\n\n{TF_CODE}\n\n{TF_TRACEBACK}\nOn Windows 11."
    assert "versions" not in missing(body), sentence


@pytest.mark.parametrize(
    "sentence",
    [
        "I use the latest TensorFlow.",
        "TF 2.x, as usual.",
        "tensorflow/core/common_runtime/gpu/gpu_device.cc:1886] Created device",
        'File "/usr/lib/python3.10/site-packages/torch/nn/modules/module.py", line 1501',
        "model.cuda() then torch.device('cuda:0')",
        "CUDA out of memory. Tried to allocate 2.00 GiB",
        "print(tf.__version__)",
    ],
)
def test_version_lookalikes_do_not_count(sentence):
    body = f"Training crashes.\n\n{sentence}\n"
    assert "versions" in missing(body), sentence


@pytest.mark.parametrize(
    ("sentence", "why"),
    [
        ("Running on Ubuntu 20.04.", "ubuntu"),
        ("OS: Linux-5.15.0-91-generic-x86_64-with-glibc2.35", "linux"),
        ("I'm on macOS Sonoma with an M2 Pro.", "macos"),
        ("This happens in Google Colab.", "google colab"),
        ("Windows 10, conda env", "windows 10"),
        ("It fails on windows but not elsewhere", "on windows"),
        ("WSL2 with a GPU", "wsl2"),
        ("Operating system: Arch btw", None),
        ('File "C:\\Users\\me\\miniconda3\\lib\\site-packages\\torch\\x.py"', "Windows"),
        ('File "/Users/ana/dev/venv/lib/python3.11/site-packages/jax/x.py"', "macOS"),
        ('File "/usr/local/lib/python3.10/dist-packages/keras/src/x.py"', "Linux"),
    ],
)
def test_os_given_in_prose_fields_or_paths(sentence, why):
    report = check_missing_info(f"It breaks.\n\n{sentence}\n")
    assert "os" not in report.missing, sentence
    if why is not None:
        assert why in report.why["os"]


@pytest.mark.parametrize(
    "sentence",
    [
        "We use sliding windows over the time series.",
        "The MAC count of the model doubles.",
        "/usr/lib/x86_64-linux-gnu/libcuda.so.1 not found",
        "manylinux2014 wheel",
        "- OS: [e.g. iOS]",
        "OS Platform and Distribution (e.g., Linux Ubuntu 16.04):",
        "OS: _No response_",
    ],
)
def test_os_lookalikes_do_not_count(sentence):
    assert "os" in missing(f"It breaks.\n\n{sentence}\n"), sentence


def test_the_title_is_part_of_the_report():
    body = f"{TF_CODE}\n\n{TF_TRACEBACK}\n"
    assert missing(body) == ("versions", "os")
    assert missing(body, title="Crash in fit with TF 2.13 on Colab") == ()


def test_a_traceback_alone_is_no_reproduction():
    report = check_missing_info(f"Crash on fit.\n\n{TF_TRACEBACK}\n")
    assert "reproduction" in report.missing
    assert report.why["error"] == "a traceback is given"


def test_a_pip_freeze_or_log_block_is_no_reproduction():
    body = (
        f"Fails.\n\n{FENCE}\nnumpy==1.26.4\ntensorflow==2.15.0\nabsl-py==2.0.0\n{FENCE}\n\n"
        f"{FENCE}\n2024-01-05 10:00:00.123: I tensorflow/core/util/port.cc:113] oneDNN on\n"
        f"Epoch 1/5\n1875/1875 [==============================] - 5s 2ms/step - loss: 0.29\n"
        f"{FENCE}\n"
    )
    report = check_missing_info(body)
    assert "reproduction" in report.missing
    assert "versions" not in report.missing


@pytest.mark.parametrize(
    "snippet",
    [
        f"{FENCE}python\nimport torch\nx = torch.randn(2, 3)\nprint(x @ x)\n{FENCE}",
        "~~~\n>>> import jax\n>>> jax.numpy.ones(3).sum()\n~~~",
        "Code:\n\n    import torch\n    torch.linalg.inv(torch.zeros(2, 2))\n",
        f"{FENCE}\n$ python train.py --epochs 5 --batch-size 64\n{FENCE}",
        "Here is a notebook: https://colab.research.google.com/drive/1AbCdEf",
        "See the gist https://gist.github.com/ana/0123456789abcdef",
        "import torch\nx = torch.ones(2)\nprint(x.numpy())",
    ],
)
def test_reproductions_in_fences_indents_links_or_pasted_code(snippet):
    assert "reproduction" not in missing(f"Wrong result.\n\n{snippet}\n"), snippet


def test_a_repl_session_with_its_traceback_in_one_block_is_a_reproduction():
    body = (
        f"{FENCE}\n>>> import numpy as np\n>>> np.linalg.inv(np.zeros((2, 2)))\n"
        f'Traceback (most recent call last):\n  File "<stdin>", line 1, in <module>\n'
        f"numpy.linalg.LinAlgError: Singular matrix\n{FENCE}"
    )
    report = check_missing_info(body)
    assert "reproduction" not in report.missing and "error" not in report.missing


@pytest.mark.parametrize(
    "sentence",
    [
        "RuntimeError: CUDA error: device-side assert triggered",
        "It dies with Segmentation fault (core dumped)",
        "torch._dynamo.exc.Unsupported: call_function UserDefinedClassVariable",
        "2024-01-05 10:00:00.1: E tensorflow/core/framework/op_kernel.cc:1816] INTERNAL: error",
        "F0105 10:00:00.000000 1234 gpu_timer.cc:183] Check failed: status.ok()",
        "ERROR: Could not find a version that satisfies the requirement tensorflow==2.99",
        "The process is Killed after epoch 3.",
        "UserWarning: The given NumPy array is not writable",
        "Training silently produces NaN losses, with no error at all.",
        "The second call hangs forever.",
        "OP_REQUIRES failed at xla_ops.cc:347 : INVALID_ARGUMENT: Trying to access resource",
        "libtensorflowlite_jni.so (offset 0x2f3000): signal 11 (SIGSEGV), code 2",
    ],
)
def test_errors_and_explicit_no_error_statements_count(sentence):
    assert "error" not in missing(f"Problem.\n\n{sentence}\n"), sentence


def test_a_wrong_result_is_what_goes_wrong_but_the_expectation_is_still_asked():
    report = check_missing_info("tf.split returns incorrect values for odd sizes on TF 2.15.")
    assert report.why["error"].endswith("(a wrong result)")
    assert "expected" in report.missing


def test_an_error_named_without_its_message_is_asked_for():
    report = check_missing_info("I get a ValueError when I call fit. Please help.")
    assert "error" in report.missing
    assert report.why["error"].startswith("no traceback")


@pytest.mark.parametrize(
    "sentence",
    [
        "I expected the accuracy to be about 97 %.",
        "The output should be a tensor of shape (2, 3).",
        "It returns NaN instead of a number.",
        "This worked fine with 2.14.",
        "It used to work before the upgrade.",
        "The correct result is [1, 2, 3].",
    ],
)
def test_expected_behaviour_in_prose(sentence):
    body = f"Wrong numbers from predict.\n\n{sentence}\n"
    assert "expected" not in missing(body), sentence


@pytest.mark.parametrize(
    "sentence",
    [
        "It does not work as expected.",
        "What should I do?",
        "I get `ValueError: expected 4 dims, got 3` when predicting.",
        "Why is the accuracy low?",
    ],
)
def test_expectation_lookalikes_do_not_count(sentence):
    body = f"Wrong numbers from predict.\n\n{sentence}\n"
    if "ValueError" in sentence:
        # an error message is given (so "it should not fail" is implied): look at the why
        report = check_missing_info(body)
        assert report.why["expected"] != "the expected behaviour is stated"
    else:
        assert "expected" in missing(body), sentence


def test_an_expectation_in_a_code_comment_counts():
    body = f"{FENCE}python\nimport numpy as np\nprint(np.mean([1, 2]))  # expected 1.5\n{FENCE}"
    assert "expected" not in missing(body)


def test_a_wrong_result_report_without_expectation_or_error_asks_for_both():
    body = (
        "PyTorch 2.1 on Ubuntu 22.04. The loss goes up.\n\n"
        f"{FENCE}python\nimport torch\nloss = torch.nn.MSELoss()\nprint(loss(a, b))\n{FENCE}\n"
    )
    report = check_missing_info(body)
    assert report.missing == ("error", "expected")
    assert report.frameworks == ("pytorch",)


# ------------------------------------------------------------------------------ templates


def tf_form_body(**answers: str) -> str:
    """An issue written from TensorFlow's form, as GitHub renders it."""
    values = {
        "Issue type": "Bug",
        "Have you reproduced the bug with TensorFlow Nightly?": "No",
        "TensorFlow version": "_No response_",
        "Custom code": "Yes",
        "OS platform and distribution": "_No response_",
        "Python version": "_No response_",
        "CUDA/cuDNN version": "_No response_",
        "GPU model and memory": "_No response_",
        "Current behavior?": "model.fit crashes on a ragged tensor. I expected it to train.",
        "Standalone code to reproduce the issue": TF_CODE.replace("python", "shell", 1),
        "Relevant log output": TF_TRACEBACK,
    }
    values.update(answers)
    return "\n\n".join(f"### {label}\n\n{value}" for label, value in values.items())


def test_issue_form_with_no_response_asks_for_versions_and_os():
    report = check_missing_info(tf_form_body(), ALL_TEMPLATES)
    assert report.template == ".github/ISSUE_TEMPLATE/00-bug-issue.yml"
    assert report.missing == ("versions", "os")
    assert report.sections["versions"] == "TensorFlow version"
    assert report.sections["os"] == "OS platform and distribution"
    text = ask_text(report)
    assert "(section “TensorFlow version”)" in text


def test_issue_form_answered_inputs_count():
    body = tf_form_body(
        **{"TensorFlow version": "2.15.0", "OS platform and distribution": "Linux Ubuntu 22.04"}
    )
    report = check_missing_info(body, ALL_TEMPLATES)
    assert report.missing == ()


def test_an_answered_form_field_counts_even_when_its_value_is_unreadable():
    body = tf_form_body(
        **{"TensorFlow version": "latest from pip", "OS platform and distribution": "my laptop"}
    )
    report = check_missing_info(body, ALL_TEMPLATES)
    assert report.missing == ()
    assert report.why["versions"] == "the “TensorFlow version” section is answered"


def test_placeholder_text_pasted_as_the_answer_does_not_count():
    body = tf_form_body(**{"TensorFlow version": "e.g., tf 2.8"})
    assert "versions" in missing(body, ALL_TEMPLATES)


def test_dropdowns_and_yes_no_answers_count_for_nothing():
    # "Have you reproduced the bug...?" -> "Yes" is not a reproduction; "Custom code: Yes" either
    body = tf_form_body(
        **{
            "Have you reproduced the bug with TensorFlow Nightly?": "Yes",
            "Standalone code to reproduce the issue": "_No response_",
        }
    )
    assert "reproduction" in missing(body, ALL_TEMPLATES)
    assert "reproduction" in missing(body)  # "Yes" is no answer even without the template


def test_a_path_in_the_log_tells_the_os_of_a_form_left_empty():
    traceback = TF_TRACEBACK.replace(
        '"repro.py"', '"/usr/local/lib/python3.10/dist-packages/keras/src/engine/training.py"'
    )
    body = tf_form_body(**{"TensorFlow version": "2.15", "Relevant log output": traceback})
    report = check_missing_info(body, ALL_TEMPLATES)
    assert report.missing == ()
    assert report.why["os"] == "a file path in the report shows Linux"


def test_pytorch_form_with_collect_env_output():
    body = (
        "### 🐛 Describe the bug\n\ntorch.compile fails on a custom autograd Function.\n\n"
        f"{FENCE}python\nimport torch\n\nclass F(torch.autograd.Function):\n"
        "    @staticmethod\n    def forward(ctx, x):\n        return x * 2\n\n"
        f"torch.compile(lambda x: F.apply(x))(torch.ones(2))\n{FENCE}\n\n"
        f"{FENCE}\ntorch._dynamo.exc.Unsupported: call_function UserDefinedClass\n{FENCE}\n\n"
        "### Versions\n\nCollecting environment information...\nPyTorch version: 2.1.0+cu121\n"
        "Is debug build: False\nCUDA used to build PyTorch: 12.1\nOS: Ubuntu 22.04.3 LTS (x86_64)\n"
        "Python version: 3.10.12 (main, Nov 20 2023, 15:14:05) [GCC 11.4.0] (64-bit runtime)\n"
    )
    report = check_missing_info(body, ALL_TEMPLATES)
    assert report.template == ".github/ISSUE_TEMPLATE/bug-report.yml"
    assert report.missing == ()


def test_pytorch_form_with_versions_left_empty():
    body = (
        "### 🐛 Describe the bug\n\nSegfault in DataLoader with num_workers=4.\n\n"
        f"{FENCE}python\nfrom torch.utils.data import DataLoader\n"
        f"loader = DataLoader(ds, num_workers=4)\nnext(iter(loader))\n{FENCE}\n\n"
        "Segmentation fault (core dumped)\n\n### Versions\n\n_No response_\n"
    )
    report = check_missing_info(body, ALL_TEMPLATES, title="DataLoader segfault")
    assert report.missing == ("versions", "os")
    assert "python -m torch.utils.collect_env" in ask_text(report)


def test_hf_form_keeps_its_prefilled_reproduction_unanswered():
    body = (
        "### System Info\n\n- `transformers` version: 4.35.2\n"
        "- Platform: Linux-5.15.0-1049-gcp-x86_64-with-glibc2.35\n- Python version: 3.10.12\n\n"
        "### Information\n\n- [X] My own modified scripts\n\n"
        "### Reproduction\n\nSteps to reproduce the behavior:\n\n  1.\n  2.\n\n"
        "### Expected behavior\n\nThe tokenizer should keep the special tokens.\n"
    )
    report = check_missing_info(body, ALL_TEMPLATES)
    assert report.template == ".github/ISSUE_TEMPLATE/bug-report.yaml"
    assert report.missing == ("reproduction", "error")


def test_github_markdown_template_left_unchanged_asks_for_everything():
    body = GITHUB_MD.split("---\n", 2)[2]  # what GitHub pastes into the new issue
    report = check_missing_info(body, ALL_TEMPLATES)
    assert report.template == ".github/ISSUE_TEMPLATE/bug_report.md"
    assert report.missing == MISSING_INFO_ITEMS  # "what you expected" placeholder is not it


def test_markdown_template_with_partly_filled_system_information():
    body = (
        ML_MD.split("---\n", 2)[2]
        .replace("## Describe the bug\n", "## Describe the bug\nfit() crashes on ragged input.\n")
        .replace(
            "- TensorFlow version (use command below):",
            "- TensorFlow version (use command below): 2.15.0",
        )
    )
    report = check_missing_info(body, ALL_TEMPLATES)
    assert report.template == ".github/ISSUE_TEMPLATE/crash.md"
    # "System information" stands for versions and OS: it visibly answers versions only
    assert report.missing == ("os", "reproduction", "error", "expected")
    assert report.why["versions"] == "a version is given (tensorflow)"


def test_markdown_template_filled_in():
    body = (
        ML_MD.split("---\n", 2)[2]
        .replace("(e.g., Linux Ubuntu 16.04):", "(e.g., Linux Ubuntu 16.04): Fedora 39")
        .replace("- Python version:", "- Python version: 3.12")
        .replace("# Paste the smallest code that shows the problem", "import tensorflow as tf\n"
                 "tf.constant([1]).numpy()")
        .replace("## Expected behavior\n", "## Expected behavior\nIt returns [1].\n")
        .replace("Paste the full traceback here", "InvalidArgumentError: oops")
    )  # fmt: skip
    report = check_missing_info(body, ALL_TEMPLATES)
    assert report.missing == ()
    assert report.why["expected"] == "the “Expected behavior” section is answered"


def test_headings_of_the_authors_own_count_when_answered():
    body = "## Environment\n\nmy work laptop, everything current\n\n## Expected behavior\n\nNo NaN."
    report = check_missing_info(body)
    assert "versions" not in report.missing and "os" not in report.missing
    assert "expected" not in report.missing
    empty = "## Environment\n\nN/A\n\n## Expected behavior\n\n_No response_\n"
    assert {"versions", "os", "expected"} <= set(missing(empty))


def test_code_of_conduct_checkbox_is_not_code():
    body = "### Code of Conduct\n\n- [X] I agree to follow this project's Code of Conduct\n"
    assert "reproduction" in missing(body)


def test_answer_lines_drop_template_text_and_empty_answers():
    section = TF.section("tensorflow version")
    assert answer_lines("_No response_", section) == []
    assert answer_lines("e.g., tf 2.8", section) == []
    assert answer_lines("<!-- hidden -->\n\n", None) == []
    assert answer_lines("```shell\n2.15\n```", section) == ["2.15"]


# ------------------------------------------------------------------------------ bad input


@pytest.mark.parametrize(
    "body", [None, "", "   \n\n", b"\x00\xff\xfe binary \x89PNG\r\n\x1a\n", "\x00" * 1000, 12345]
)
def test_empty_or_junk_bodies_ask_for_everything_without_crashing(body):
    assert check_missing_info(body).missing == MISSING_INFO_ITEMS


def test_binary_junk_is_read_as_text_without_crashing():
    junk = bytes(range(256)) * 400 + b"TensorFlow 2.15 on Ubuntu 22.04" + bytes(range(256))
    report = check_missing_info(junk)
    assert "versions" not in report.missing and "os" not in report.missing


def test_a_one_megabyte_body_is_checked_in_bounded_time():
    filler = "Epoch 1/5 - loss: 0.29 - accuracy: 0.91 ` * _ # [ ( <b> tf 1 \n" * 17_000
    body = "Training slows down.\n\n" + filler + "\nTensorFlow version: 2.15.0 on Ubuntu 22.04\n"
    assert len(body) > 1_000_000
    started = time.perf_counter()
    report = check_missing_info(body, ALL_TEMPLATES)
    assert time.perf_counter() - started < 3.0  # about 0.3 s unloaded
    # the head and the tail are read: the versions pasted at the end still count
    assert "versions" not in report.missing and "os" not in report.missing


@pytest.mark.parametrize(
    "junk",
    [
        "<!--" * 250_000,
        "`" * 1_000_000,
        "#" * 1_000_000,
        "tensorflow " * 100_000,
        "__version__" * 90_000,
        ("    x = 1\n" * 100_000),
        "a" * 1_000_000,
        "**" + "x" * 999_000,
        "ValueError" * 100_000,
    ],
)
def test_pathological_bodies_stay_fast(junk):
    started = time.perf_counter()
    check_missing_info(junk, ALL_TEMPLATES)
    assert time.perf_counter() - started < 3.0  # about 0.3 s unloaded


def test_only_the_configured_items_in_their_fixed_order():
    report = check_missing_info("nothing useful", ask_for=["expected", "versions"])
    assert [c.item for c in report.checks] == ["versions", "expected"]
    assert check_missing_info("nothing", ask_for=[]).missing == ()


def test_the_repositorys_own_package_version_counts():
    body = "widgets 1.4.2 breaks my pipeline"
    assert "versions" in missing(body)
    assert "versions" not in missing(body, packages=["widgets"])
    assert "versions" in missing(body, packages=["(bad|name)"])  # not a package name: ignored


# ------------------------------------------------------------------------------ the ask


def test_ask_text_lists_only_what_is_missing_with_commands_and_a_marker():
    report = check_missing_info(TF_NO_VERSIONS)
    text = ask_text(report, label="needs-info")
    assert text.splitlines()[0] == '<!-- maintbot-asked ["versions", "os"] label="needs-info" -->'
    assert "- **Versions**" in text and "- **Operating system**" in text
    assert "reproduction" not in text.lower() and "traceback" not in text.lower()
    assert 'python -c "import tensorflow as tf; print(tf.version.GIT_VERSION' in text
    assert "`nvidia-smi`" in text
    assert "removes the needs-info label" in text
    assert parse_asked(text) == Asked(("versions", "os"), "needs-info")


def test_ask_without_a_framework_suggests_pip_freeze_and_without_label_promises_none():
    report = check_missing_info("It crashes: ValueError: bad\n\nimport foo\nfoo.run()\n")
    text = ask_text(report)
    assert "`pip freeze`" in text
    assert "label" not in text
    assert parse_asked(text) == Asked(("versions", "os"), None)


def test_template_section_names_in_the_ask_are_made_inert():
    form = TF_FORM.replace("label: TensorFlow version", "label: 'Version @team #12 <b>'")
    template = parse_template("x.yml", form)
    body = tf_form_body().replace("### TensorFlow version", "### Version @team #12 <b>")
    text = ask_text(check_missing_info(body, [template]))
    assert "@team" not in text and "<b>" not in text and "&lt;b&gt;" in text


def test_marker_round_trip_and_forgery_resistance():
    assert parse_asked(asked_marker(["os"], 'odd "label" -->')) == Asked(("os",), 'odd "label" -->')
    assert "-->" not in asked_marker(["os"], "a-->b")[:-3]
    assert parse_asked(thanks_text()) == Asked((), None)
    assert parse_asked("no marker here") is None
    assert parse_asked(None) is None
    assert parse_asked('<!-- maintbot-asked ["os", "rm -rf", 3] -->') == Asked(("os",), None)
    assert parse_asked("<!-- maintbot-asked [not json] -->") is None


# ------------------------------------------------------------------------------ the decision

REPORT_MISSING = check_missing_info(TF_NO_VERSIONS)
REPORT_COMPLETE = check_missing_info(TF_WITH_VERSIONS)


def test_plan_first_ask_adds_the_label():
    plan = plan_missing_info(REPORT_MISSING, None, ["bug"], "needs-info")
    assert plan.add == ("needs-info",) and plan.remove == ()
    assert parse_asked(plan.section) == Asked(("versions", "os"), "needs-info")


def test_plan_replay_adds_nothing_and_keeps_the_same_text():
    first = plan_missing_info(REPORT_MISSING, None, ["bug"], "needs-info")
    again = plan_missing_info(
        REPORT_MISSING, parse_asked(first.section), ["bug", "Needs-Info"], "needs-info"
    )
    assert again.add == () and again.section == first.section


def test_plan_never_claims_a_label_a_person_set():
    plan = plan_missing_info(REPORT_MISSING, None, ["needs-info"], "needs-info")
    assert plan.add == () and parse_asked(plan.section).label is None
    done = plan_missing_info(REPORT_COMPLETE, parse_asked(plan.section), ["needs-info"], "x")
    assert done.remove == ()  # the bot did not set it, so it stays


def test_plan_does_not_re_add_a_label_a_person_took_off():
    previous = Asked(("versions", "os"), "needs-info")
    plan = plan_missing_info(REPORT_MISSING, previous, ["bug"], "needs-info")
    assert plan.add == ()
    assert "taken off by a person" in plan.reason
    assert parse_asked(plan.section) == previous


def test_plan_complete_after_an_ask_thanks_and_removes_the_bots_label():
    plan = plan_missing_info(
        REPORT_COMPLETE, Asked(("versions",), "needs-info"), ["bug", "needs-info"], "needs-info"
    )
    assert plan.remove == ("needs-info",) and plan.add == ()
    assert plan.section == thanks_text()


def test_plan_complete_without_an_ask_writes_nothing():
    assert plan_missing_info(REPORT_COMPLETE, None, [], "needs-info").section is None
    thanked = plan_missing_info(REPORT_COMPLETE, Asked((), None), [], "needs-info")
    assert thanked.section is None and thanked.remove == ()


def test_plan_with_labels_off_only_comments():
    plan = plan_missing_info(REPORT_MISSING, None, [], None)
    assert plan.add == () and "label" not in plan.section.split("\n", 1)[1]


# ------------------------------------------------------------------------------ who is asked


def issue(**overrides):
    return {"number": 7, "state": "open", "user": {"login": "ana", "type": "User"}, **overrides}


def test_skip_reasons():
    config = Config.default()
    assert skip_reason(config, issue(), sender_is_bot=False) is None
    assert skip_reason(config, issue(pull_request={}), sender_is_bot=False) == "a pull request"
    assert skip_reason(config, issue(state="closed"), sender_is_bot=False) == "the issue is closed"
    bot = issue(user={"login": "renovate[bot]", "type": "Bot"})
    assert skip_reason(config, bot, sender_is_bot=False) == "author renovate[bot] is ignored"
    assert skip_reason(config, issue(), sender_is_bot=True) == "the event was sent by a bot"
    assert skip_reason(config, issue(user=None), sender_is_bot=False) is None
    off = parse_config("triage:\n  missing_info:\n    enabled: false\n")
    assert skip_reason(off, issue(), sender_is_bot=False) == "triage.missing_info.enabled is false"
    empty = parse_config("triage:\n  missing_info:\n    ask_for: []\n")
    assert (
        skip_reason(empty, issue(), sender_is_bot=False) == "triage.missing_info.ask_for is empty"
    )
    ignored = parse_config("triage:\n  ignore_authors: [Ana]\n")
    assert skip_reason(ignored, issue(), sender_is_bot=False) == "author ana is ignored"
    no_triage = parse_config("triage:\n  enabled: false\n")
    assert skip_reason(no_triage, issue(), sender_is_bot=False) == "triage.enabled is false"


def test_issue_types_from_the_decision_else_from_labels():
    config = parse_config("labels:\n  types:\n    bug: 'type: bug'\n    feature: enhancement\n")
    assert issue_types(config, "bug", ["enhancement"]) == {"bug"}
    assert issue_types(config, "needs-triage", ["type: bug"]) == {"needs-triage"}
    assert issue_types(config, None, ["TYPE: BUG", "help wanted"]) == {"bug"}
    assert issue_types(config, None, []) == set()
