"""Issue templates (markdown and issue forms) parsed into sections, matched to an issue, and
read through the contents API of the sandbox GitHub on loopback."""

from __future__ import annotations

import pytest
from github import Auth, Github

from bot.sanitize import strip_html_comments
from bot.triage.issue_templates import (
    NO_RESPONSE,
    clear_template_cache,
    fetch_templates,
    heading_key,
    heading_of,
    match_template,
    parse_template,
)

# TensorFlow's bug form (.github/ISSUE_TEMPLATE/00-bug-issue.yml), shortened.
TF_FORM = """\
name: Tensorflow Issues
description: Use this template to report bugs, feature requests, or performance issues.
labels: 'type:bug'
body:
  - type: markdown
    attributes:
      value: Please make sure that this is a bug.
  - type: dropdown
    id: issue-type
    attributes:
      label: Issue type
      options: [Bug, Build/Install, Performance, Support]
    validations:
      required: true
  - type: dropdown
    id: tf-nightly
    attributes:
      label: Have you reproduced the bug with TensorFlow Nightly?
      options: ["Yes", "No"]
    validations:
      required: true
  - type: input
    id: tfversion
    attributes:
      label: TensorFlow version
      placeholder: e.g., tf 2.8
  - type: dropdown
    id: Code
    attributes:
      label: Custom code
      options: ["Yes", "No"]
  - type: input
    id: OS
    attributes:
      label: OS platform and distribution
      placeholder: e.g., Linux Ubuntu 16.04
  - type: input
    id: Python
    attributes:
      label: Python version
      placeholder: e.g., 3.9
  - type: input
    id: Cuda
    attributes:
      label: CUDA/cuDNN version
  - type: input
    id: Gpu
    attributes:
      label: GPU model and memory
  - type: textarea
    id: what-happened
    attributes:
      label: Current behavior?
      description: Also tell us, what did you expect to happen?
      placeholder: Tell us what you see!
    validations:
      required: true
  - type: textarea
    id: code-to-reproduce
    attributes:
      label: Standalone code to reproduce the issue
      placeholder: Provide a reproducible test case that is the bare minimum necessary.
      render: shell
    validations:
      required: true
  - type: textarea
    id: logs
    attributes:
      label: Relevant log output
      render: shell
"""

# PyTorch's bug form (.github/ISSUE_TEMPLATE/bug-report.yml), shortened.
TORCH_FORM = """\
name: 🐛 Bug Report
description: Create a report to help us reproduce and fix the bug
body:
- type: markdown
  attributes:
    value: >
      #### Before submitting a bug, please make sure the issue hasn't been already addressed.
- type: textarea
  attributes:
    label: 🐛 Describe the bug
    placeholder: |
      A clear and concise description of what the bug is.

      ```python
      # Sample code to reproduce the problem
      ```

      ```
      The error message you got, with the full traceback.
      ```
  validations:
    required: true
- type: textarea
  attributes:
    label: Versions
    description: |
      Please run the following and paste the output below.
      ```sh
      python -m torch.utils.collect_env
      ```
  validations:
    required: true
"""

# Hugging Face transformers' form: a prefilled value, checkboxes and an expected section.
HF_FORM = """\
name: "\\U0001F41B Bug Report"
description: Submit a bug report to help us improve transformers
labels: [ "bug" ]
body:
  - type: textarea
    id: system-info
    attributes:
      label: System Info
      description: Run `transformers-cli env` and copy-paste its output below.
      placeholder: transformers version, platform, python version, ...
    validations:
      required: true
  - type: checkboxes
    id: information-scripts-examples
    attributes:
      label: Information
      options:
        - label: "The official example scripts"
        - label: "My own modified scripts"
  - type: textarea
    id: reproduction
    validations:
      required: true
    attributes:
      label: Reproduction
      value: |
        Steps to reproduce the behavior:

          1.
          2.
  - type: textarea
    id: expected-behavior
    validations:
      required: true
    attributes:
      label: Expected behavior
"""

# GitHub's default markdown bug template.
GITHUB_MD = """\
---
name: Bug report
about: Create a report to help us improve
title: ''
labels: bug, needs triage
assignees: ''

---

**Describe the bug**
A clear and concise description of what the bug is.

**To Reproduce**
Steps to reproduce the behavior:
1. Go to '...'
2. Click on '....'
3. See error

**Expected behavior**
A clear and concise description of what you expected to happen.

**Desktop (please complete the following information):**
 - OS: [e.g. iOS]
 - Version [e.g. 22]

**Additional context**
Add any other context about the problem here.
"""

# An ML project's markdown template in the style of TensorFlow's older one.
ML_MD = """\
---
name: Bug report
about: Report a bug in the models
labels: bug
---

<!-- Please fill in every section; reports without versions are hard to act on. -->

## Describe the bug

## System information
- OS Platform and Distribution (e.g., Linux Ubuntu 16.04):
- TensorFlow installed from (source or binary):
- TensorFlow version (use command below):
- Python version:
- CUDA/cuDNN version:

Get the version with `python -c "import tensorflow as tf; print(tf.version.VERSION)"`

## Standalone code to reproduce the issue
```python
# Paste the smallest code that shows the problem
```

## Expected behavior

## Traceback
```
Paste the full traceback here
```
"""

CHOOSER = "blank_issues_enabled: false\ncontact_links: []\n"


def test_issue_form_sections_keep_labels_kinds_defaults_and_required():
    template = parse_template(".github/ISSUE_TEMPLATE/00-bug-issue.yml", TF_FORM)
    assert template is not None and template.kind == "form"
    assert template.name == "Tensorflow Issues" and template.labels == ("type:bug",)
    labels = [s.label for s in template.sections]
    assert labels == [
        "Issue type",
        "Have you reproduced the bug with TensorFlow Nightly?",
        "TensorFlow version",
        "Custom code",
        "OS platform and distribution",
        "Python version",
        "CUDA/cuDNN version",
        "GPU model and memory",
        "Current behavior?",
        "Standalone code to reproduce the issue",
        "Relevant log output",
    ]  # the markdown item is no section: GitHub does not render it into the issue
    version = template.section(heading_key("TensorFlow version"))
    assert version is not None and version.kind == "input" and version.default == "e.g., tf 2.8"
    assert template.section("issue type").kind == "dropdown"
    assert template.section("issue type").required is True
    assert template.section("relevant log output").required is False


def test_form_prefilled_value_is_boilerplate_and_checkboxes_are_sections():
    template = parse_template("bug.yaml", HF_FORM)
    assert template is not None
    assert [s.kind for s in template.sections] == ["textarea", "checkboxes", "textarea", "textarea"]
    assert "steps to reproduce the behavior:" in template.boilerplate
    assert template.labels == ("bug",)
    assert template.name == "\U0001f41b Bug Report"


def test_markdown_template_front_matter_headings_and_defaults():
    template = parse_template(".github/ISSUE_TEMPLATE/bug_report.md", GITHUB_MD)
    assert template is not None and template.kind == "markdown"
    assert template.name == "Bug report"
    assert template.labels == ("bug", "needs triage")
    assert [s.label for s in template.sections] == [
        "Describe the bug",
        "To Reproduce",
        "Expected behavior",
        "Desktop (please complete the following information)",
        "Additional context",
    ]
    expected = template.section("expected behavior")
    assert expected.default == "A clear and concise description of what you expected to happen."
    assert "os: [e.g. ios]" in template.boilerplate
    assert "name: bug report" not in template.boilerplate  # front matter is not in the issue


def test_markdown_template_code_fence_lines_are_not_headings():
    template = parse_template("ml.md", ML_MD)
    assert [s.label for s in template.sections] == [
        "Describe the bug",
        "System information",
        "Standalone code to reproduce the issue",
        "Expected behavior",
        "Traceback",
    ]  # "# Paste the smallest code..." sits inside a fence
    code = template.section("standalone code to reproduce the issue")
    assert "# Paste the smallest code" in code.default
    # the HTML comment is invisible on GitHub and never reaches the boilerplate
    assert not any("please fill in" in line for line in template.boilerplate)


@pytest.mark.parametrize(
    ("path", "text"),
    [
        ("config.yml", CHOOSER),
        ("notes.txt", "## Heading"),
        ("broken.yml", "body: [unclosed"),
        ("list.yml", "- just\n- a list\n"),
        ("nobody.yml", "name: No body\n"),
    ],
)
def test_what_is_not_a_template(path, text):
    assert parse_template(path, text) is None


def test_malformed_form_items_are_skipped_not_fatal():
    text = (
        "name: odd\nbody:\n  - just a string\n  - type: textarea\n"
        "  - type: input\n    attributes: [1, 2]\n  - type: input\n    attributes:\n"
        "      label: 12\n  - type: input\n    attributes:\n      label: Python version\n"
    )
    template = parse_template("odd.yml", text)
    assert [s.label for s in template.sections] == ["Python version"]


def test_heading_keys_ignore_emoji_case_and_punctuation():
    assert heading_key("🐛 Describe the bug") == "describe the bug"
    assert heading_key("Current behavior?") == "current behavior"
    assert heading_key("CUDA/cuDNN version") == "cuda cudnn version"
    assert heading_of("### TensorFlow version") == "TensorFlow version"
    assert heading_of("## Closing hashes ##") == "Closing hashes"
    assert heading_of("**Expected behavior**") == "Expected behavior"
    assert heading_of("**Desktop:**") == "Desktop"
    assert heading_of("    # indented code") is None
    assert heading_of("#hashtag") is None
    assert heading_of("**bold** then text") is None


def test_strip_html_comments_is_linear_and_hides_an_unterminated_rest():
    assert strip_html_comments("a<!-- x -->b<!--y-->c") == "abc"
    assert strip_html_comments("keep<!-- never closed\nhidden") == "keep"
    junk = "<!--" * 200_000
    assert strip_html_comments(junk) == ""


def test_match_template_by_headings():
    forms = [parse_template("tf.yml", TF_FORM), parse_template("torch.yml", TORCH_FORM)]
    torch_headings = ["describe the bug", "versions"]
    assert match_template(torch_headings, forms).path == "torch.yml"
    tf_headings = [s.key for s in forms[0].sections][:8]
    assert match_template(tf_headings, forms).path == "tf.yml"
    assert match_template(["versions"], forms) is None  # one heading of two is not a match
    assert match_template(["describe the bug", "something else"], forms) is None
    assert match_template([], forms) is None


def test_no_response_is_what_github_writes():
    assert NO_RESPONSE == "_No response_"


# ------------------------------------------------------------------------------ the API


FAST = {"retry": None, "seconds_between_requests": None, "seconds_between_writes": None}
CONTENTS = "GET /repos/{owner}/{repo}/contents/{path}"


@pytest.fixture
def gh(sandbox):
    clear_template_cache()
    yield Github(base_url=sandbox.base_url, auth=Auth.Token("t"), **FAST)
    clear_template_cache()


def test_fetch_reads_every_template_once_then_serves_the_cache(sandbox, gh):
    repo_name = "octo/widgets"
    sandbox.state.set_content(repo_name, ".github/ISSUE_TEMPLATE/bug.yml", TF_FORM)
    sandbox.state.set_content(repo_name, ".github/ISSUE_TEMPLATE/crash.md", ML_MD)
    sandbox.state.set_content(repo_name, ".github/ISSUE_TEMPLATE/config.yml", CHOOSER)
    sandbox.state.set_content(repo_name, ".github/ISSUE_TEMPLATE/README.txt", "not a template")
    repo = gh.get_repo(repo_name)
    sandbox.clear_requests()

    templates = fetch_templates(repo, now=100.0)
    assert [t.path for t in templates] == [
        ".github/ISSUE_TEMPLATE/bug.yml",
        ".github/ISSUE_TEMPLATE/crash.md",
    ]
    assert [t.kind for t in templates] == ["form", "markdown"]
    # one listing and one read per template; the chooser and the .txt are never read
    assert sandbox.request_counts() == {CONTENTS: 3}
    assert all(r.method == "GET" for r in sandbox.requests)

    sandbox.clear_requests()
    assert fetch_templates(repo, now=200.0) == templates
    assert sandbox.requests == []  # cached
    fetch_templates(repo, now=100.0 + 601)
    assert sandbox.request_counts() == {CONTENTS: 3}  # expired: read again


def test_fetch_without_templates_is_empty_and_cached(sandbox, gh):
    repo = gh.get_repo("octo/widgets")
    sandbox.clear_requests()
    assert fetch_templates(repo, now=0.0) == ()
    assert [r.status for r in sandbox.requests] == [404]
    assert fetch_templates(repo, now=1.0) == ()
    assert len(sandbox.requests) == 1


def test_fetch_skips_a_broken_template_and_keeps_the_others(sandbox, gh):
    sandbox.state.set_content("octo/widgets", ".github/ISSUE_TEMPLATE/a.yml", "body: [oops")
    sandbox.state.set_content("octo/widgets", ".github/ISSUE_TEMPLATE/b.yml", TORCH_FORM)
    templates = fetch_templates(gh.get_repo("octo/widgets"), now=0.0)
    assert [t.path for t in templates] == [".github/ISSUE_TEMPLATE/b.yml"]
