"""What a bug report of an ML project lacks, and the short, specific ask for it.

A maintainer of an ML project cannot act on "training crashes" without the versions of the
framework and CUDA, the OS, a minimal reproduction, the error and what was expected. This
module reads an issue's description (any text: huge, binary junk, None) and the repository's
issue templates, and says which of the configured items are missing and why each counts as
given or not. It errs on the side of not asking: a version named in prose, a path in a
traceback that shows the OS, an answered section of the template all count, while text the
template put there (placeholders, ``_No response_``, ``e.g.`` examples) does not. Everything
here is pure; :mod:`bot.triage.missing_info_handlers` does the reading and writing.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from bot.config.schema import MISSING_INFO_ITEMS, Config
from bot.sanitize import inline, strip_html_comments
from bot.triage.issue_templates import (
    NO_RESPONSE,
    IssueTemplate,
    TemplateSection,
    closes,
    content_lines,
    fence_of,
    heading_key,
    heading_of,
    match_template,
    normalize_line,
)

MAX_SCAN_CHARS = 131_072
"""GitHub caps a description at 65,536 characters; beyond twice that only the head and the tail
are read, so a pathological body costs bounded time."""

ASKED_MARKER = "maintbot-asked"
SECTION = "missing_info"

ITEM_TITLES = {
    "versions": "Versions",
    "os": "Operating system",
    "reproduction": "A minimal reproduction",
    "error": "The error",
    "expected": "Expected behaviour",
}

# ------------------------------------------------------------------------------ results


@dataclass(frozen=True)
class ItemCheck:
    """One item: given or not, and the evidence (or its absence) in a few words."""

    item: str
    present: bool
    why: str


@dataclass(frozen=True)
class MissingInfoReport:
    """The verdict on one description: every asked item, in the order they are asked."""

    checks: tuple[ItemCheck, ...]
    template: str | None = None  # path of the issue template the report was written from
    frameworks: tuple[str, ...] = ()  # tensorflow / pytorch / jax: which commands to suggest
    sections: Mapping[str, str] = field(default_factory=dict)  # item -> template section label

    @property
    def missing(self) -> tuple[str, ...]:
        return tuple(c.item for c in self.checks if not c.present)

    @property
    def present(self) -> tuple[str, ...]:
        return tuple(c.item for c in self.checks if c.present)

    @property
    def why(self) -> dict[str, str]:
        return {c.item: c.why for c in self.checks}


# ------------------------------------------------------------------------------ the body


@dataclass
class _Section:
    heading: str
    key: str
    lines: list[str] = field(default_factory=list)


@dataclass
class _Body:
    """A description split the way the checks read it."""

    prose: list[str] = field(default_factory=list)  # outside code, template text removed
    code: list[str] = field(default_factory=list)  # each code block's text, likewise
    sections: list[_Section] = field(default_factory=list)  # headings with their raw answers


def clean_text(body: object) -> str:
    """Any description as text: None is empty, bytes are decoded, control bytes dropped, and
    an oversized one cut to its head and tail (versions are often pasted at the end)."""
    if body is None:
        return ""
    if isinstance(body, bytes | bytearray):
        text = bytes(body).decode("utf-8", errors="replace")
    else:
        text = str(body)
    if len(text) > MAX_SCAN_CHARS:
        head = MAX_SCAN_CHARS * 3 // 4
        text = text[:head] + "\n\n" + text[-(MAX_SCAN_CHARS - head) :]
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return _CONTROL.sub("", text)


_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufeff]")
_EXAMPLE = re.compile(
    r"[(\[]\s*(?:e\.\s?g\.?|eg\.|for example|example|i\.e\.)[^)\]\n]{0,200}[)\]]", re.IGNORECASE
)


def _split(text: str, boilerplate: frozenset[str]) -> _Body:
    """One pass over the lines: fenced and indented code, headings, and the rest as prose."""
    body = _Body()
    current: _Section | None = None
    fence: str | None = None
    block: list[str] = []
    indented: list[str] = []
    previous_blank = True
    last_text = ""

    def keep(line: str) -> bool:
        norm = normalize_line(line)
        return bool(norm) and norm not in boilerplate

    def flush_indented() -> None:
        if indented:
            body.code.append("\n".join(indented))
            indented.clear()

    for line in text.split("\n"):
        fenced = fence_of(line)
        if fence is not None:
            if fenced is not None and closes(fenced, fence):
                body.code.append("\n".join(block))
                fence, block = None, []
            elif keep(line):
                block.append(line)
            if current is not None:
                current.lines.append(line)
            continue
        heading = heading_of(line) if fenced is None else None
        if heading is not None and not line.startswith(("    ", "\t")):
            flush_indented()
            previous_blank, last_text = False, line
            current = _Section(heading, heading_key(heading))
            body.sections.append(current)
            if not _section_items(current.key):  # a heading of the author's own: words count
                body.prose.append(heading)
            continue
        if current is not None:
            current.lines.append(line)
        if fenced is not None:
            flush_indented()
            fence, block = fenced[0], []
            previous_blank = False
            continue
        is_indented = line.startswith(("    ", "\t")) and line.strip() != ""
        if is_indented and (indented or (previous_blank and not _LIST_ITEM.match(last_text))):
            if keep(line):
                indented.append(line)
            continue
        if line.strip() == "":
            previous_blank = True
            if indented:
                indented.append("")
            continue
        flush_indented()
        previous_blank = False
        last_text = line
        if keep(line):
            body.prose.append(line)
    if fence is not None:
        body.code.append("\n".join(block))  # an unclosed fence runs to the end, as on GitHub
    flush_indented()
    return body


_LIST_ITEM = re.compile(r"\s{0,3}(?:[-*+]|\d{1,9}[.)])\s")

# ------------------------------------------------------------------------------ sections

_SECTION_RULES: tuple[tuple[re.Pattern[str], tuple[str, ...]], ...] = (
    (re.compile(r"\bexpect|\bdesired\b|\bshould happen\b|\bintended\b"), ("expected",)),
    (
        re.compile(
            r"\b(?:reproduc\w*|repro|steps|code|snippet|example|colab|notebook|minimal|mre|mcve)\b"
        ),
        ("reproduction",),
    ),
    (
        re.compile(r"\b(?:error|errors|traceback|stack ?trace|stacktrace|logs?|crash|exception)\b"),
        ("error",),
    ),
    (
        re.compile(r"\b(?:environment|env|system info\w*|system|setup|your setup)\b"),
        ("versions", "os"),
    ),
    (
        re.compile(
            r"\b(?:versions?|dependencies|packages|pip freeze|pip list|conda list|collect env)\b"
        ),
        ("versions",),
    ),
    (re.compile(r"\b(?:os|operating system|platform|distribution|distro)\b"), ("os",)),
)


def _section_items(key: str) -> tuple[str, ...]:
    """The items a heading asks for, from its words ("Expected output" is not an error log)."""
    if "conduct" in key:  # "Code of Conduct" is an agreement, not code
        return ()
    for pattern, items in _SECTION_RULES:
        if pattern.search(key):
            return items
    return ()


_TRIVIAL_ANSWERS = frozenset(
    {"n/a", "na", "none", "-", "--", ".", "no", "yes", "nothing", "idk", "?", "tbd", "unknown"}
    | {"...", "_", "same", "see above", "same as above"}
)
_TASK = re.compile(r"\[[ xX]\]")


def answer_lines(answer: str, section: TemplateSection | None = None) -> list[str]:
    """The lines of a section's text that say something: not ``_No response_``, not the
    template's own default or placeholder text, not "N/A", "yes" or a ticked checkbox."""
    if section is not None and section.kind in ("dropdown", "checkboxes"):
        return []  # a choice among the template's options, not information
    defaults = set(content_lines(section.default)) if section is not None else set()
    kept = []
    for line in strip_html_comments(answer).split("\n"):
        if fence_of(line) is not None:
            continue
        norm = normalize_line(line)
        if not any(ch.isalnum() for ch in norm):
            continue
        if norm == NO_RESPONSE.casefold() or norm in defaults or norm in _TRIVIAL_ANSWERS:
            continue
        if _TASK.match(norm):
            continue
        kept.append(line)
    return kept


# ------------------------------------------------------------------------------ detectors

_PACKAGE_NAMES = (
    r"tensorflow(?:[-_](?:gpu|cpu|macos|metal|intel|text|io|addons|probability|hub|datasets))?"
    r"|tf[-_]nightly|tf[-_]keras|tflite|tensorflow lite|tf|keras(?:[-_]nlp|[-_]cv|[-_]hub)?"
    r"|pytorch(?:[-_]lightning)?|torch(?:vision|audio|text|data)?|libtorch|lightning"
    r"|cuda(?:[-_ ]?toolkit)?|cudnn|cuda ?/ ?cudnn|nccl|tensorrt|triton|rocm|cupy|nvcc"
    r"|nvidia[- ]driver|driver version|nvidia-smi"
    r"|python|py(?=\d)|cpython|numpy|scipy|pandas|scikit-learn|sklearn"
    r"|jax(?:lib)?|flax|optax|transformers|tokenizers|datasets|accelerate|diffusers|peft"
    r"|deepspeed|xformers|vllm|bitsandbytes|timm|sentence-transformers|onnx(?:runtime(?:-gpu)?)?"
    r"|openvino|mxnet|paddle(?:paddle)?|xgboost|lightgbm|catboost|opencv(?:-python)?|cv2"
    r"|protobuf|h5py|tensorboard|bazel|gcc|clang|msvc|xcode|ray|mlflow|horovod|spacy"
)
_VERSION_SEPARATOR = (
    r"(?:[ \t]*(?:\([^()\n]{0,60}\)|versions?|ver\.?|release|is|was|installation|installed"
    r"|library|package|build|wheel|:|==|=|>=|<=|~=|@|,|-|\(|[`'\"*]))"
)
_VERSION_NUMBER = r"[ \t]*v?\d{1,4}\.(?:\d{1,5}|x\b)"


def _package_pattern(names: str) -> re.Pattern[str]:
    return re.compile(
        rf"(?<![\w/\\.\-])({names})(?![A-Za-z_/]){_VERSION_SEPARATOR}{{0,6}}{_VERSION_NUMBER}",
        re.IGNORECASE,
    )


_PACKAGE_VERSION = _package_pattern(_PACKAGE_NAMES)
_DUNDER_VERSION = re.compile(r"__version__[^\n\d]{0,80}+(?:\n[^\d\n]{0,20}+)?\d{1,4}\.\d")
_GIT_DESCRIBE = re.compile(r"\bv?\d+\.\d+\.\d+(?:-rc\d+)?-\d+-g[0-9a-f]{7,}\b")
_NIGHTLY = re.compile(r"(?<![\w/\\.\-])(?:tf[-_]nightly|torch[-_ ]nightly)\b", re.IGNORECASE)
_SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,49}")

_OS_NAMES = re.compile(
    r"(?<![\w/\\.\-])(ubuntu|debian|centos|fedora|rhel|red ?hat|rocky linux|almalinux"
    r"|arch linux|manjaro|opensuse|suse|linux mint|alpine linux|amazon linux|pop!_os|gentoo"
    r"|nixos|wsl2?|raspbian|raspberry pi os|jetpack|jetson \w+|freebsd|chromeos|android|ipados"
    r"|linux|mac ?os(?: ?x)?|os ?x|osx|macbook(?: air| pro)?|imac|mac ?(?:mini|studio|pro)"
    r"|apple silicon|apple m[1-4]|m[1-4] (?:pro|max|ultra|mac|chip)|sonoma|ventura|monterey"
    r"|big sur|sequoia|catalina|mojave|darwin|win(?:dows)?[ -]?(?:7|8|8\.1|10|11|xp|server)"
    r"|win32|win64|win_amd64|google colab|colab(?:oratory)?|kaggle (?:kernel|notebook)s?"
    r"|(?:on|under|using|with|in) (?:a |my )?(?:windows|mac))(?![\w/])",
    re.IGNORECASE,
)
_WINDOWS = re.compile(r"(?<![\w/\\.\-])(Windows|iOS)(?![\w/])")
_OS_FIELD = re.compile(
    r"^[ \t>*\-]*(?:os|operating system|os platform(?: and distribution)?)\b[^:\n]{0,60}:"
    r"[ \t]*([^\n]*)",
    re.IGNORECASE | re.MULTILINE,
)
_OS_PATHS = (
    (re.compile(r"\b[A-Za-z]:\\{1,2}(?:Users|Program Files|ProgramData|Windows|Python\d*|"
                r"Anaconda\d*|Miniconda\d*)\\", re.IGNORECASE), "Windows"),
    (re.compile(r"(?<![\w.])/Users/[^/\s]+/|/opt/homebrew/"), "macOS"),
    (re.compile(r"(?<![\w.])/home/[^/\s]+/|/usr/(?:local/)?lib/python3\.\d+/dist-packages/"),
     "Linux"),
)  # fmt: skip

_CODE_LINE = re.compile(
    r"\s*(?:>>>\s*\S|\$\s+\S|(?:import|from)\s+[\w.]+|#include\b|@\w"
    r"|(?:def|class|for|while|with|if|elif|else|try|except|return|assert|raise|print|lambda"
    r"|async|await|const|let|var|auto|int|void|std::)\b"
    r"|[\w.\[\]'\"]{1,80}\s*(?:=|\+=|-=|\*=)(?!=)"
    r"|[\w.]{1,80}\("
    r"|(?:python3?|pip3?|conda|bazel|docker|torchrun|accelerate|deepspeed|cmake|make|nvcc|bash"
    r"|sh|git|export|CUDA_VISIBLE_DEVICES=\S+)\s)"
)
_IMPORT_OR_DEF = re.compile(r"\s*(?:>>>\s*)?(?:import\s|from\s+[\w.]+\s+import\s|def\s|class\s)")
_TRACEBACK_START = re.compile(r"Traceback \(most recent call last\)|^\s*File \"", re.MULTILINE)
_REPRO_LINK = re.compile(
    r"colab\.research\.google\.com/|gist\.github\.com/|kaggle\.com/code/|huggingface\.co/spaces/",
    re.IGNORECASE,
)

_ERROR_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"Traceback \(most recent call last\)"), "a traceback"),
    (
        re.compile(
            r"\b[A-Z]\w{0,80}(?:Error|Exception|Fault|Interrupt|Exit)(?::[ \t]*\S|:[ \t]*\n\s*\S)"
        ),
        "an error message",
    ),
    (
        re.compile(r"^[ \t]*(?:[a-z_]\w{0,40}\.){1,8}[A-Z]\w{0,80}:[ \t]+\S", re.MULTILINE),
        "an error message",
    ),
    (re.compile(r"\b\w{0,80}Warning:[ \t]*\S"), "a warning message"),
    (
        re.compile(
            r"Segmentation fault|\bsegfault|core dumped|Illegal instruction|Bus error"
            r"|Fatal Python error|terminate called after throwing|Check failed:|CUDA error:"
            r"|CUDNN_STATUS_\w+|CUBLAS_STATUS_\w+|CUDA out of memory|OOM when allocating"
            r"|ResourceExhausted|exit(?:ed with)? code -?\d+|returned non-zero exit status"
            r"|\bKilled\b|\bpanicked at\b|\bSIG(?:SEGV|ABRT|ILL|BUS|FPE)\b|\bsignal \d{1,2} \("
            r"|OP_REQUIRES failed|\b(?:INVALID_ARGUMENT|INTERNAL|NOT_FOUND|FAILED_PRECONDITION"
            r"|RESOURCE_EXHAUSTED|UNIMPLEMENTED|OUT_OF_RANGE|DATA_LOSS):[ \t]+\S",
            re.IGNORECASE,
        ),
        "a crash message",
    ),
    (
        re.compile(
            r"^[ \t]*(?:error|fatal error|fatal|E|F)(?:\[\w+\])?:[ \t]*\S"
            r"|^[EF]\d{4} \d\d:\d\d|[ :][EF] (?:tensorflow|external|third_party|xla)/",
            re.IGNORECASE | re.MULTILINE,
        ),
        "an error log line",
    ),
)
_NO_ERROR = re.compile(
    r"\b(?:no|without(?: any)?|not any|doesn'?t (?:raise|throw|give|show|print)"
    r"|does not (?:raise|throw|give|show|print)|never (?:raises|throws))\s+(?:an?\s+|any\s+)?"
    r"(?:errors?|exceptions?|tracebacks?|crash(?:es)?|warnings?|error messages?)\b"
    r"|\bsilently\b|\b(?:hangs|freezes|is stuck|gets stuck|got stuck|deadlocks?)\b",
    re.IGNORECASE,
)
_WRONG_RESULT = re.compile(
    r"\b(?:incorrect|wrong (?:results?|outputs?|values?|answers?|shapes?|order)|inaccurate"
    r"|inconsistent|mismatch(?:es|ed)?|different (?:results?|outputs?|values?)"
    r"|returns? nans?|nan (?:loss|losses|values?|outputs?)|memory leak|leaks? memory"
    r"|slower|much slower|overflows?)\b",
    re.IGNORECASE,
)
_ERROR_LINE = re.compile(
    r"\s*(?:Traceback \(|File \"|[A-Z]\w{0,80}(?:Error|Exception|Warning)\b"
    r"|\d{4}-\d\d-\d\d[ T]\d|[IWEF]\d{4} |[IWEF] tensorflow/)"
)

_EXPECTED_PATTERNS = re.compile(
    r"\bexpect(?:ed|s|ing|ation|ations)?\b"
    r"|\bshould(?:n'?t| not)?\s+(?!i\b|we\b|you\b|they\b|be\s+(?:fixed|done|investigated)\b)\w"
    r"|\binstead of\b|\brather than\b|\bsupposed to\b|\bmeant to\b|\bintended to\b"
    r"|\bworks?\s+(?:fine|correctly|properly|well|as expected)\b|\bworked\s+(?:fine|correctly"
    r"|properly|well|in|with|on|before)\b|\bused to work\b"
    r"|\b(?:correct|right|desired|expected) (?:result|output|value|answer|behaviou?r)\b",
    re.IGNORECASE,
)
_NEGATED_AS = re.compile(r"(?:\bnot|n't|\bnever)\b[^.\n]{0,30}\bas expected\b", re.IGNORECASE)
_INLINE_CODE = re.compile(r"`[^`\n]{0,500}`")
_QUOTED_ERROR = re.compile(
    r"\b[A-Z]\w{0,80}(?:Error|Exception|Warning):(?:[^\n.]|\.(?![ \t]+[A-Z]))*"
)
_COMMENT = re.compile(r"(?:^|\s)(?:#|//)\s?(.*)$", re.MULTILINE)

_FRAMEWORKS = (
    ("tensorflow", re.compile(r"tensorflow|\btf\.|\bkeras\b|\btflite\b", re.IGNORECASE)),
    ("pytorch", re.compile(r"\btorch\b|pytorch|\blightning\b", re.IGNORECASE)),
    ("jax", re.compile(r"\bjax\b|\bflax\b", re.IGNORECASE)),
)


def _find_versions(text: str, packages: Sequence[str]) -> str | None:
    names = [re.escape(p) for p in packages if _SAFE_NAME.fullmatch(p)]
    patterns = [_PACKAGE_VERSION]
    if names:
        patterns.append(_package_pattern("|".join(names)))
    for pattern in patterns:
        for match in pattern.finditer(text):
            if match.group(0).rstrip().endswith("x"):
                continue  # "TF 2.x" names a series, not the version in use
            return f"a version is given ({match.group(1).strip().lower()})"
    if _DUNDER_VERSION.search(text) or _GIT_DESCRIBE.search(text):
        return "a printed version is given"
    if _NIGHTLY.search(text):
        return "a nightly build is named"
    return None


def _find_os(text: str) -> str | None:
    match = _OS_NAMES.search(text) or _WINDOWS.search(text)
    if match:
        return f"the OS is named ({' '.join(match.group(1).split()).lower()})"
    for field_match in _OS_FIELD.finditer(text):
        value = normalize_line(field_match.group(1))
        trivial = value in _TRIVIAL_ANSWERS or value == NO_RESPONSE.casefold()
        if sum(ch.isalnum() for ch in value) >= 2 and not trivial:
            return "an OS field is filled in"
    for pattern, name in _OS_PATHS:
        if pattern.search(text):
            return f"a file path in the report shows {name}"
    return None


def _is_code(block: str) -> bool:
    """A code block holds code (not only a traceback, a log or a pip freeze)."""
    start = _TRACEBACK_START.search(block)
    before = block[: start.start()] if start else block
    return any(_CODE_LINE.match(line) for line in before.split("\n"))


def _unfenced_code(lines: Sequence[str]) -> bool:
    """Code pasted without a fence: two code lines with an import or def, or three in a row."""
    run: list[str] = []
    for line in lines:
        if _CODE_LINE.match(line) and not _ERROR_LINE.match(line):
            run.append(line)
            if len(run) >= 3 or (len(run) >= 2 and any(_IMPORT_OR_DEF.match(r) for r in run)):
                return True
        else:
            run = []
    return False


def _find_reproduction(body: _Body, prose: str) -> str | None:
    if any(_is_code(block) for block in body.code):
        return "a code block with code"
    if _REPRO_LINK.search(prose) or any(_REPRO_LINK.search(b) for b in body.code):
        return "a link to a notebook or gist"
    if _unfenced_code(body.prose):
        return "code in the text (not in a code block)"
    return None


def _find_error(text: str) -> str | None:
    for pattern, what in _ERROR_PATTERNS:
        if pattern.search(text):
            return f"{what} is given"
    if _NO_ERROR.search(text):
        return "the report says it fails without an error"
    if _WRONG_RESULT.search(text):
        return "the report says what goes wrong without an error (a wrong result)"
    return None


def _find_expected(prose_lines: Sequence[str], code: Sequence[str]) -> str | None:
    sentences = [
        _QUOTED_ERROR.sub(" ", _INLINE_CODE.sub(" ", line))
        for line in prose_lines
        if not _ERROR_LINE.match(line)
    ]
    for block in code:  # "# expected 3, got 4" in a reproduction
        sentences.extend(m.group(1) for m in _COMMENT.finditer(block))
    for line in sentences:
        for match in _EXPECTED_PATTERNS.finditer(line):
            window = line[max(0, match.start() - 40) : match.end()]
            if "expected" in match.group(0).lower() and _NEGATED_AS.search(window):
                continue  # "does not work as expected" says nothing about what was expected
            return "the expected behaviour is stated"
    return None


# ------------------------------------------------------------------------------ the check


def check_missing_info(
    body: object,
    templates: Sequence[IssueTemplate] = (),
    *,
    ask_for: Iterable[str] = MISSING_INFO_ITEMS,
    title: str = "",
    packages: Sequence[str] = (),
) -> MissingInfoReport:
    """Which of ``ask_for`` the description ``body`` lacks, and why each counts or not.

    ``templates``: the repository's issue templates (an answered section counts; the text a
    template puts there does not). ``packages``: more package names whose version counts
    (the repository's own, e.g. ``keras``). ``title``: the issue's title, read with the body
    ("Crash on Colab with TF 2.13" gives the OS and a version).
    """
    wanted = [item for item in MISSING_INFO_ITEMS if item in set(ask_for)]
    text = strip_html_comments(clean_text(body))
    template = match_template(_heading_keys(text), templates) if templates else None
    boilerplate = frozenset().union(*(t.boilerplate for t in templates)) if templates else None
    parsed = _split(text, boilerplate or frozenset())
    prose = _EXAMPLE.sub(" ", "\n".join(parsed.prose))
    code = [_EXAMPLE.sub(" ", block) for block in parsed.code]
    everything = f"{_EXAMPLE.sub(' ', clean_text(title)[:1000])}\n{prose}\n" + "\n".join(code)

    found: dict[str, str] = {}
    for section in parsed.sections:
        items = _section_items(section.key)
        if not items:
            continue
        template_section = template.section(section.key) if template else None
        if template_section is None and templates:
            template_section = next(
                (s for t in templates if (s := t.section(section.key)) is not None), None
            )
        lines = answer_lines("\n".join(section.lines), template_section)
        if not lines:
            continue
        if len(items) > 1:  # "Environment": count what it visibly answers, all if unreadable
            seen = [i for i in items if _SECTION_DETECTORS[i]("\n".join(lines), packages)]
            items = tuple(seen) or items
        for item in items:
            found.setdefault(item, f"the “{inline(section.heading, 60)}” section is answered")

    detectors = {
        "versions": lambda: _find_versions(everything, packages),
        "os": lambda: _find_os(everything),
        "reproduction": lambda: _find_reproduction(parsed, prose),
        "error": lambda: _find_error(everything),
        "expected": lambda: _find_expected(prose.split("\n"), code),
    }
    checks = []
    for item in wanted:
        why = detectors[item]() or found.get(item)
        if why is None and item == "expected":
            error = _find_error(everything)
            if error is not None and "without an error" not in error:  # a crash, not a result
                why = f"{error}: what was expected is that it does not fail"
        checks.append(ItemCheck(item, why is not None, why or _MISSING_WHY[item]))

    hint_text = everything[:20_000]
    frameworks = tuple(name for name, pattern in _FRAMEWORKS if pattern.search(hint_text))
    sections = {}
    if template is not None:
        for section in template.sections:
            for item in _section_items(section.key):
                sections.setdefault(item, section.label)
    return MissingInfoReport(
        tuple(checks), template.path if template else None, frameworks, sections
    )


_MISSING_WHY = {
    "versions": "no package or framework version (e.g. TensorFlow 2.15, torch 2.1, CUDA 12.1)",
    "os": "no operating system named",
    "reproduction": "no code block with code, and no link to a notebook or gist",
    "error": "no traceback, error message or log, and no word that it fails without one",
    "expected": "no statement of what was expected",
}


_SECTION_DETECTORS = {
    "versions": _find_versions,
    "os": lambda text, _packages: _find_os(text),
}


def _heading_keys(text: str) -> list[str]:
    keys = []
    fence: str | None = None
    for line in text.split("\n"):
        fenced = fence_of(line)
        if fence is not None:
            if fenced is not None and closes(fenced, fence):
                fence = None
            continue
        if fenced is not None:
            fence = fenced[0]
            continue
        heading = heading_of(line)
        if heading is not None:
            keys.append(heading_key(heading))
    return keys


# ------------------------------------------------------------------------------ the ask


@dataclass(frozen=True)
class Asked:
    """What the bot's comment says it asked for, and the label it set (None: it set none)."""

    items: tuple[str, ...]
    label: str | None = None


def asked_marker(items: Sequence[str], label: str | None) -> str:
    """The hidden line recording the ask: ``<!-- maintbot-asked ["versions"] label="x" -->``."""
    text = f"<!-- {ASKED_MARKER} {json.dumps(list(items))}"
    if label:
        quoted = json.dumps(label).replace("<", "\\u003c").replace(">", "\\u003e")
        text += f" label={quoted}"
    return text + " -->"


_ASKED = re.compile(
    rf"<!-- {ASKED_MARKER} (\[[^\]\n]{{0,200}}\])(?: label=(\"(?:[^\"\\\n]|\\.){{0,200}}\"))? -->"
)


def parse_asked(section_text: str | None) -> Asked | None:
    """The ask recorded in the bot's ``missing_info`` section, or None when there is none."""
    match = _ASKED.search(section_text or "")
    if match is None:
        return None
    try:
        items = json.loads(match.group(1))
        label = json.loads(match.group(2)) if match.group(2) else None
    except ValueError:
        return None
    if not isinstance(items, list) or not isinstance(label, str | None):
        return None
    known = tuple(i for i in items if isinstance(i, str) and i in MISSING_INFO_ITEMS)
    return Asked(known, label or None)


def _version_hint(frameworks: Sequence[str]) -> str:
    commands = {
        "tensorflow": '`python -c "import tensorflow as tf; '
        'print(tf.version.GIT_VERSION, tf.version.VERSION)"`',
        "pytorch": "`python -m torch.utils.collect_env`",
        "jax": '`python -c "import jax; jax.print_environment_info()"`',
    }
    chosen = [commands[f] for f in frameworks if f in commands]
    if not chosen:
        chosen = ["`python --version` and `pip freeze` (or `conda list`)"]
    return (
        " of Python and the packages involved: the output of "
        + " and ".join(chosen)
        + ", and of `nvidia-smi` if you use a GPU (it shows the CUDA and driver versions)"
    )


_ASK_TEXT = {
    "os": " and its version: e.g. Ubuntu 22.04, Windows 11 or macOS 14, or where it runs "
    "(Colab, a Docker image)",
    "reproduction": ": the smallest complete code that shows the problem, in a code block "
    "(```` ```python ````), or a link to a Colab notebook or gist; random or small data "
    "is best",
    "error": ": the full traceback or error message, copied as text into a code block "
    "(not a screenshot); if nothing fails, say what goes wrong instead",
    "expected": ": what you expected to happen instead (the output, shape or accuracy "
    "you expected)",
}


def ask_text(report: MissingInfoReport, *, label: str | None = None) -> str:
    """The section of the bot's comment asking for ``report.missing`` (plus its marker)."""
    lines = [
        asked_marker(report.missing, label),
        "**Thanks for the report!** To look into it, a maintainer needs a few details "
        "it does not have yet:",
        "",
    ]
    for item in report.missing:
        detail = _version_hint(report.frameworks) if item == "versions" else _ASK_TEXT[item]
        where = report.sections.get(item)
        place = f" (section “{inline(where, 60)}”)" if where else ""
        lines.append(f"- **{ITEM_TITLES[item]}**{place}{detail}.")
    tail = "Please edit the issue description to add them; maintbot checks again on every edit"
    if label:
        tail += f" and removes the {inline(label, 50)} label once nothing is missing"
    lines += ["", tail + "."]
    return "\n".join(lines)


def thanks_text() -> str:
    """The section once an edit supplied everything asked for (its marker records no ask)."""
    return (
        asked_marker((), None)
        + "\nThanks for adding the details! Nothing maintbot asked for is missing now; "
        "a maintainer will take it from here."
    )


# ------------------------------------------------------------------------------ the decision


@dataclass(frozen=True)
class MissingInfoPlan:
    """What to write: the section's new text (None: leave it) and the label changes."""

    section: str | None
    add: tuple[str, ...] = ()
    remove: tuple[str, ...] = ()
    reason: str = ""


def plan_missing_info(
    report: MissingInfoReport,
    previous: Asked | None,
    issue_labels: Iterable[str],
    needs_info: str | None,
) -> MissingInfoPlan:
    """The writes that make the issue say what it lacks, from its current state.

    The needs-info label is added while something is missing (unless the bot had set it and
    a person took it off since) and removed, once nothing is, only when the bot's own
    earlier ask records that the bot set it: a label a person set is never removed.
    """
    on_issue = {name.casefold() for name in issue_labels}
    if report.missing:
        recorded = previous.label if previous is not None else None
        add: tuple[str, ...] = ()
        reason = f"asks for {', '.join(report.missing)}"
        if needs_info is not None and needs_info.casefold() not in on_issue:
            if recorded is not None and recorded.casefold() == needs_info.casefold():
                reason += f"; {needs_info} was taken off by a person, not added again"
            else:
                add, recorded = (needs_info,), needs_info
        label_shown = recorded if recorded is not None else None
        return MissingInfoPlan(ask_text(report, label=label_shown), add, (), reason)
    if previous is None or not previous.items:
        return MissingInfoPlan(None, (), (), "nothing is missing")
    remove: tuple[str, ...] = ()
    if previous.label is not None and previous.label.casefold() in on_issue:
        remove = (previous.label,)
    return MissingInfoPlan(thanks_text(), (), remove, "an edit supplied what was asked for")


def plan_withdrawal(previous: Asked | None, issue_labels: Iterable[str]) -> MissingInfoPlan:
    """The issue is no longer of a type the check asks (a bug relabelled as a question):
    the bot takes back its own ask and its own needs-info label, nothing a person set."""
    if previous is None or not previous.items:
        return MissingInfoPlan(None, (), (), "nothing was asked")
    on_issue = {name.casefold() for name in issue_labels}
    remove: tuple[str, ...] = ()
    if previous.label is not None and previous.label.casefold() in on_issue:
        remove = (previous.label,)
    return MissingInfoPlan(None, (), remove, "the issue's type no longer asks for it")


def skip_reason(config: Config, issue: Mapping[str, Any], *, sender_is_bot: bool) -> str | None:
    """Why the check keeps off this issue (the event payload's), or None to go on."""
    triage = config.triage
    if not triage.enabled:
        return "triage.enabled is false"
    if not triage.missing_info.enabled:
        return "triage.missing_info.enabled is false"
    if not triage.missing_info.ask_for:
        return "triage.missing_info.ask_for is empty"
    if "pull_request" in issue:
        return "a pull request"
    if issue.get("state") == "closed":
        return "the issue is closed"
    user = issue.get("user") if isinstance(issue.get("user"), dict) else {}
    author = str(user.get("login") or "")
    if triage.ignores_author(author, is_bot=user.get("type") == "Bot"):
        return f"author {author} is ignored"
    if sender_is_bot:
        return "the event was sent by a bot"
    return None


def issue_types(config: Config, decided: object, label_names: Iterable[str]) -> set[str]:
    """The issue's types: the type handler's decision for this event when it made one, else
    what the issue's current labels stand for (a person labelled it)."""
    if isinstance(decided, str) and decided:
        return {decided}
    return {t for name in label_names if (t := config.labels.type_for(name)) is not None}
