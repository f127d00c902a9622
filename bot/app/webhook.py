"""The webhook protocol with no I/O: the signature check, the headers, and what to do next.

Like gidgethub's ``sansio``: these functions take plain values (headers, the raw body, the
secret) and return plain values, so the whole decision is tested without a server; the
receiver only moves bytes in and status codes out.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import json
import math
import re
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

from bot.events.router import Event
from bot.store.models import DeliveryStatus

#: GitHub caps webhook payloads at 25 MB and drops larger ones; we refuse anything bigger.
MAX_BODY_BYTES = 25 * 1024 * 1024

SIGNATURE_HEADER = "X-Hub-Signature-256"
EVENT_HEADER = "X-GitHub-Event"
DELIVERY_HEADER = "X-GitHub-Delivery"
SIGNATURE_PREFIX = "sha256="

#: Deepest nesting of objects and arrays accepted. GitHub's payloads nest under 10 levels; the
#: limit sits far below Python's recursion limit so parsing, storing and handling never recurse
#: out of stack (a 1,000-deep body used to end in a RecursionError and a 500).
MAX_JSON_DEPTH = 64

#: GitHub's ids and counts are signed 64-bit integers (the store's BIGINT); a larger one is no
#: GitHub payload, and would fail the store on every redelivery.
MIN_INT64 = -(2**63)
MAX_INT64 = 2**63 - 1

# A JSON string (escapes included) or one bracket: what the depth scan steps over or counts.
_STRING_OR_BRACKET = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]')

#: A lone UTF-16 surrogate written as a JSON escape: Python parses it into a string no UTF-8
#: encoder takes, so a handler sending it back to GitHub would fail on every attempt.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")

#: Text fields the store keeps in bounded columns (``webhook_deliveries.action``, ``.repo``): a
#: longer value fails PostgreSQL's insert on every redelivery, so it is a 400 here.
MAX_ACTION_CHARS = 64
MAX_REPO_NAME_CHARS = 200

#: ``sha256=`` and 64 hex digits: anything else cannot match, so the body is not even read.
_SIGNATURE_SHAPE = re.compile(r"^sha256=[0-9a-fA-F]{64}$")

_EVENT_NAME = re.compile(r"^[a-z_]{1,64}$")
# GitHub sends a GUID; redeliveries and other senders may use any short token.
_DELIVERY_ID = re.compile(r"^[A-Za-z0-9._:-]{1,100}$")


class Outcome(enum.StrEnum):
    """What the receiver does with a delivery."""

    ACCEPTED = "accepted"  # recorded and queued: 202
    DUPLICATE = "duplicate"  # seen before and already queued or finished: 200, not queued again
    IGNORED = "ignored"  # genuine, but no handler wants it: 200, not recorded
    REJECTED = "rejected"  # not from GitHub or malformed: 4xx
    DEFERRED = "deferred"  # genuine, but the store or queue failed: 503, GitHub may redeliver
    BUSY = "busy"  # too many unverified bodies in flight: 503 with Retry-After, body unread


@dataclass(frozen=True)
class Decision:
    """The receiver's answer: outcome, HTTP status, a reason for the log and the response."""

    outcome: Outcome
    status: int
    reason: str
    event: Event | None = None

    def body(self) -> dict[str, Any]:
        """The JSON answer GitHub shows in the App's "Recent deliveries" page."""
        body: dict[str, Any] = {"outcome": self.outcome.value, "reason": self.reason}
        if self.event is not None:
            body["event"] = self.event.key
            body["delivery"] = self.event.delivery_id
        return body


def signature_for(secret: bytes, body: bytes) -> str:
    """The ``X-Hub-Signature-256`` value GitHub computes: HMAC-SHA256 of the raw body."""
    return SIGNATURE_PREFIX + hmac.new(secret, body, hashlib.sha256).hexdigest()


def signature_is_valid(secret: bytes, body: bytes, header: str | None) -> bool:
    """True when ``header`` is the body's signature under ``secret`` (constant-time compare)."""
    if not header or not header.startswith(SIGNATURE_PREFIX):
        return False
    expected = signature_for(secret, body).encode("ascii")
    try:
        given = header.strip().encode("ascii")
    except UnicodeEncodeError:
        return False
    return hmac.compare_digest(expected, given)


def signed_by_any(secrets: Sequence[bytes], body: bytes, header: str | None) -> bool:
    """True when one of ``secrets`` signed the body: during a rotation both old and new count.

    Every secret is checked, so the time taken does not say which one matched.
    """
    verifier = BodyVerifier(secrets)
    verifier.update(body)
    return verifier.matches(header)


class BodyVerifier:
    """Running HMAC-SHA256 of a body under every secret, fed chunk by chunk as it arrives.

    The receiver checks the signature the moment the last byte is in, without a second pass
    over a buffered body; :meth:`matches` compares against every secret in constant time.
    """

    def __init__(self, secrets: Sequence[bytes]) -> None:
        self._macs = [hmac.new(secret, digestmod=hashlib.sha256) for secret in secrets]
        self.size = 0

    def update(self, chunk: bytes) -> None:
        for mac in self._macs:
            mac.update(chunk)
        self.size += len(chunk)

    def matches(self, header: str | None) -> bool:
        """True when ``header`` is the signature of the bytes fed so far under some secret."""
        if not header or not header.startswith(SIGNATURE_PREFIX):
            return False
        try:
            given = header.strip().encode("ascii")
        except UnicodeEncodeError:
            return False
        matches = [
            hmac.compare_digest((SIGNATURE_PREFIX + mac.hexdigest()).encode("ascii"), given)
            for mac in self._macs
        ]
        return any(matches)


def before_reading(
    headers: Mapping[str, str],
    *,
    secrets: Sequence[bytes] | None,
    max_body_bytes: int = MAX_BODY_BYTES,
) -> Decision | None:
    """The answer that needs no body, or None when the body must be read.

    A declared length over the cap is a 413, and with secrets configured a missing or
    misshapen signature is a 401: neither can turn out well, so their bodies are never read
    (an unsigned flood costs headers, not memory).
    """
    declared = (header(headers, "Content-Length") or "").strip()
    if declared.isdigit() and int(declared) > max_body_bytes:
        return Decision(Outcome.REJECTED, 413, f"body over {max_body_bytes} bytes")
    if secrets is None:
        return None
    signature = header(headers, SIGNATURE_HEADER)
    if not signature:
        return Decision(Outcome.REJECTED, 401, f"missing {SIGNATURE_HEADER}")
    if not _SIGNATURE_SHAPE.match(signature.strip()):
        return Decision(Outcome.REJECTED, 401, f"{SIGNATURE_HEADER} does not match the body")
    return None


def header(headers: Mapping[str, str], name: str) -> str | None:
    """A header by case-insensitive name (HTTP header names are case-insensitive)."""
    wanted = name.lower()
    for key, value in headers.items():
        if key.lower() == wanted:
            return value
    return None


def parse_body(body: bytes, content_type: str | None) -> dict[str, Any]:
    """The payload: a JSON body, or the ``payload`` field of a form-encoded one.

    Raises ``ValueError`` with a sentence when the body is neither.
    """
    media_type = (content_type or "application/json").split(";")[0].strip().lower()
    if media_type == "application/x-www-form-urlencoded":
        fields = parse_qs(body.decode("utf-8", errors="strict"), strict_parsing=False)
        if "payload" not in fields:
            raise ValueError("a form-encoded delivery has no payload field")
        text = fields["payload"][0]
    else:
        text = body.decode("utf-8")
    try:
        payload = json.loads(
            text, parse_int=_int64, parse_float=_finite, parse_constant=_no_constant
        )
    except RecursionError:  # the C parser stops at Python's recursion limit, safely
        payload = None
        depth = json_depth(text)  # the exact figure, for the answer
    else:
        depth = payload_depth(payload)  # faster than scanning the text, on what parsed
    if depth > MAX_JSON_DEPTH:
        raise ValueError(f"the JSON nests {depth} levels deep, over the limit of {MAX_JSON_DEPTH}")
    if not isinstance(payload, dict):
        raise ValueError(f"the payload is a JSON {type(payload).__name__}, not an object")
    check_ids(payload)
    check_stored_fields(payload)
    if _SURROGATE_ESCAPE.search(text):
        check_unicode(payload)
    return payload


def payload_depth(value: Any) -> int:
    """How deep objects and arrays nest in a parsed value, counted with a stack, not recursion.

    Parsing first is safe: ``json.loads`` refuses nesting beyond Python's recursion limit
    (about 1,000) with a ``RecursionError``, and this walk is cheaper than scanning the text.
    """
    if not isinstance(value, dict | list):
        return 0
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        children = item.values() if isinstance(item, dict) else item
        deepest = max(deepest, depth)
        stack.extend((c, depth + 1) for c in children if isinstance(c, dict | list))
    return deepest


def json_depth(text: str) -> int:
    """How deep objects and arrays nest in ``text``, counted in a loop, never by recursion.

    Brackets inside strings do not count. Malformed text gets some number: ``json.loads``
    refuses it afterwards anyway.
    """
    depth = deepest = 0
    for match in _STRING_OR_BRACKET.finditer(text):
        token = match.group()
        if token in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif token in "]}":
            depth -= 1
    return deepest


def _int64(literal: str) -> int:
    """``json.loads``' integer hook: a number outside signed 64 bits is no GitHub payload."""
    value = int(literal)
    if not MIN_INT64 <= value <= MAX_INT64:
        raise ValueError(f"the integer {literal[:40]} does not fit in 64 bits")
    return value


def _finite(literal: str) -> float:
    """``json.loads``' float hook: ``1e400`` would become infinity, which JSON cannot write back."""
    value = float(literal)
    if math.isinf(value):
        raise ValueError(f"the number {literal[:40]} is too large for a float")
    return value


def _no_constant(name: str) -> float:
    """``NaN`` and ``Infinity`` are no JSON (Python accepts them; PostgreSQL does not)."""
    raise ValueError(f"{name} is not a JSON value")


def check_ids(payload: Mapping[str, Any]) -> None:
    """Raises ``ValueError`` when an id GitHub always sends as an integer is something else.

    The installation id chooses the App's token and is stored as an integer: a string, float
    or boolean there would fail the same way on every attempt.
    """
    for outer in ("installation", "repository", "sender"):
        value = payload.get(outer)
        if value is None:
            continue
        if not isinstance(value, Mapping):
            raise ValueError(f"{outer} is a JSON {type(value).__name__}, not an object")
        ident = value.get("id")
        if ident is not None and (not isinstance(ident, int) or isinstance(ident, bool)):
            raise ValueError(f"{outer}.id is a JSON {type(ident).__name__}, not an integer")


def check_stored_fields(payload: Mapping[str, Any]) -> None:
    """Raises ``ValueError`` when a field the store keeps in a bounded column is too long.

    GitHub's actions are short words and a repository's full name is at most 140 characters;
    a longer value is no GitHub payload and would fail the store on every redelivery.
    """
    action = payload.get("action")
    if isinstance(action, str) and len(action) > MAX_ACTION_CHARS:
        raise ValueError(f"action has {len(action)} characters, over {MAX_ACTION_CHARS}")
    repository = payload.get("repository")
    name = repository.get("full_name") if isinstance(repository, Mapping) else None
    if isinstance(name, str) and len(name) > MAX_REPO_NAME_CHARS:
        raise ValueError(
            f"repository.full_name has {len(name)} characters, over {MAX_REPO_NAME_CHARS}"
        )


def check_unicode(payload: Mapping[str, Any]) -> None:
    """Raises ``ValueError`` when a string holds a lone surrogate (a ``\\ud800`` escape).

    Run only when the text has such an escape: re-encoding the whole payload costs time.
    """
    try:
        json.dumps(payload, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("a string holds a lone UTF-16 surrogate, not Unicode text") from None


def decide(
    headers: Mapping[str, str],
    body: bytes,
    *,
    secrets: Sequence[bytes] | None,
    handles: Callable[[Event], bool],
    max_body_bytes: int = MAX_BODY_BYTES,
) -> Decision:
    """What to do with one POST whose whole body is at hand, before touching the store.

    The signature is checked first, on the raw bytes, so nothing about an unsigned request is
    parsed; any one of ``secrets`` may have signed it (rotation). ``secrets=None``
    (``--insecure-no-secret``) skips the check. ``handles`` says
    whether any handler wants the event; unwanted events are acknowledged and dropped.
    The receiver does the same in steps (:func:`before_reading`, a :class:`BodyVerifier` fed
    while streaming, then :func:`decide_verified`).
    """
    if len(body) > max_body_bytes:
        return Decision(Outcome.REJECTED, 413, f"body over {max_body_bytes} bytes")
    if secrets is not None:
        signature = header(headers, SIGNATURE_HEADER)
        if not signature:
            return Decision(Outcome.REJECTED, 401, f"missing {SIGNATURE_HEADER}")
        if not signed_by_any(secrets, body, signature):
            return Decision(Outcome.REJECTED, 401, f"{SIGNATURE_HEADER} does not match the body")
    return decide_verified(headers, body, handles=handles)


def signature_mismatch() -> Decision:
    """The answer to a body that no configured secret signed."""
    return Decision(Outcome.REJECTED, 401, f"{SIGNATURE_HEADER} does not match the body")


def decide_verified(
    headers: Mapping[str, str], body: bytes, *, handles: Callable[[Event], bool]
) -> Decision:
    """What to do with a body whose signature was checked (or needs none): headers, payload."""
    name = (header(headers, EVENT_HEADER) or "").strip()
    if not _EVENT_NAME.match(name):
        return Decision(Outcome.REJECTED, 400, f"missing or malformed {EVENT_HEADER}")
    delivery_id = (header(headers, DELIVERY_HEADER) or "").strip()
    if not _DELIVERY_ID.match(delivery_id):
        return Decision(Outcome.REJECTED, 400, f"missing or malformed {DELIVERY_HEADER}")
    try:
        payload = parse_body(body, header(headers, "Content-Type"))
    except (ValueError, UnicodeDecodeError) as exc:
        return Decision(Outcome.REJECTED, 400, f"the body is not a webhook payload: {exc}")
    event = Event(name=name, payload=payload, delivery_id=delivery_id)
    if not handles(event):
        return Decision(Outcome.IGNORED, 200, f"no handler for {event.key}", event)
    return Decision(Outcome.ACCEPTED, 202, "queued", event)


def busy(retry_after_s: int) -> Decision:
    """The answer when too many unverified bodies are in flight: come back later."""
    return Decision(
        Outcome.BUSY,
        503,
        f"too many deliveries being received at once; retry in {retry_after_s} s",
    )


#: Bodies read at once before their signature is known, and the bytes they may hold together:
#: four of GitHub's largest payloads. Unsigned traffic can take no more memory than this.
DEFAULT_MAX_UNVERIFIED_BODIES = 64
DEFAULT_MAX_UNVERIFIED_BYTES = 4 * MAX_BODY_BYTES
#: What a refused sender is told to wait (GitHub itself does not redeliver on its own).
BUSY_RETRY_AFTER_S = 5


class UnverifiedBudget:
    """Admission for bodies whose signature is not known yet: a count and a byte budget.

    A body reserves its declared ``Content-Length`` before a byte is read (or its bytes as
    they arrive, when chunked) and gives the reservation back once its signature is checked.
    Whoever would overdraw gets a 503 at once: the body is never buffered. Thread-safe.
    """

    def __init__(
        self,
        max_bodies: int = DEFAULT_MAX_UNVERIFIED_BODIES,
        max_bytes: int = DEFAULT_MAX_UNVERIFIED_BYTES,
    ) -> None:
        self.max_bodies = max_bodies
        self.max_bytes = max_bytes
        self.bodies = 0
        self.bytes = 0
        self._lock = threading.Lock()

    def open(self, declared: int | None = None) -> Reservation | None:
        """A reservation for one more body of ``declared`` bytes, or None when over budget."""
        with self._lock:
            wanted = declared or 0
            if self.bodies >= self.max_bodies or self.bytes + wanted > self.max_bytes:
                return None
            self.bodies += 1
            self.bytes += wanted
        return Reservation(self, wanted)

    def _grow(self, more: int) -> bool:
        with self._lock:
            if self.bytes + more > self.max_bytes:
                return False
            self.bytes += more
            return True

    def _release(self, size: int) -> None:
        with self._lock:
            self.bodies -= 1
            self.bytes -= size

    def in_use(self) -> tuple[int, int]:
        """Bodies and bytes reserved now."""
        with self._lock:
            return self.bodies, self.bytes


class Reservation:
    """One body's share of an :class:`UnverifiedBudget`; :meth:`close` gives it back."""

    def __init__(self, budget: UnverifiedBudget, size: int) -> None:
        self._budget = budget
        self.size = size
        self._open = True

    def cover(self, size: int) -> bool:
        """Makes the reservation cover ``size`` bytes read so far; False when over budget."""
        if size <= self.size:
            return True
        if not self._budget._grow(size - self.size):
            return False
        self.size = size
        return True

    def close(self) -> None:
        if self._open:
            self._open = False
            self._budget._release(self.size)


def after_recording(
    decision: Decision, *, inserted: bool, stored_status: DeliveryStatus | None
) -> Decision:
    """The final answer once the store said whether this delivery id was new.

    A redelivery is acknowledged without queueing it again, except when the first attempt
    was recorded but never reached the queue (``received``): then this one queues it, so a
    queue outage is repaired by GitHub's "Redeliver" button.
    """
    if inserted or stored_status is DeliveryStatus.RECEIVED:
        return decision
    return Decision(
        Outcome.DUPLICATE,
        200,
        f"delivery seen before (now {stored_status.value if stored_status else 'unknown'})",
        decision.event,
    )
