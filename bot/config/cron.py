"""Checks a five-field cron expression the way GitHub Actions' ``schedule`` reads it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CronField:
    """One position of a cron expression: its name, its range and the names it accepts."""

    name: str
    low: int
    high: int
    names: tuple[str, ...] = ()  # names[i] stands for low + i

    def value_of(self, text: str) -> int | None:
        """The number ``text`` stands for, or None when it is neither a number nor a name."""
        if text.isdigit():
            return int(text)
        lowered = text.lower()
        return self.low + self.names.index(lowered) if lowered in self.names else None


CRON_FIELDS = (
    CronField("minute", 0, 59),
    CronField("hour", 0, 23),
    CronField("day of month", 1, 31),
    CronField(
        "month",
        1,
        12,
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"),
    ),
    CronField("day of week", 0, 6, ("sun", "mon", "tue", "wed", "thu", "fri", "sat")),
)


def cron_problem(expression: str) -> str | None:
    """Says what is wrong with ``expression``, or None when it is a valid 5-field cron.

    Accepted per field: ``*``, a value, a range ``a-b``, a step ``*/n`` or ``a-b/n``, and
    comma-separated lists of those; month and weekday names (``jan``, ``mon``) as GitHub does.
    Macros such as ``@monthly`` are refused because GitHub Actions does not understand them.
    """
    parts = expression.split()
    if len(parts) != len(CRON_FIELDS):
        return (
            f"a cron expression has 5 fields (minute hour day-of-month month day-of-week), "
            f"got {len(parts)} in {expression!r}"
        )
    for part, cron_field in zip(parts, CRON_FIELDS, strict=True):
        for item in part.split(","):
            problem = _item_problem(item, cron_field)
            if problem:
                return f"{cron_field.name} field {part!r}: {problem}"
    return None


def _item_problem(item: str, cron_field: CronField) -> str | None:
    if not item:
        return "empty list item"
    body, slash, step = item.partition("/")
    if slash:
        if not step.isdigit() or int(step) == 0:
            return f"step {step!r} must be a positive whole number"
        if body != "*" and "-" not in body:
            return f"a step needs '*' or a range before '/', got {body!r}"
    if body == "*":
        return None
    low_text, dash, high_text = body.partition("-")
    bounds = [low_text, high_text] if dash else [low_text]
    values = []
    for text in bounds:
        value = cron_field.value_of(text)
        if value is None:
            return f"{text!r} is not a number or a name"
        if not cron_field.low <= value <= cron_field.high:
            return f"{value} is outside {cron_field.low}-{cron_field.high}"
        values.append(value)
    if dash and values[0] > values[1]:
        return f"range {body!r} runs backwards"
    return None
