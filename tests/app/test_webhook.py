"""The webhook protocol as plain values: signatures, headers, and the receiver's decision.

Signatures in these tests are computed here with ``hmac`` (and checked against the example
in GitHub's documentation), never with the code under test.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import urllib.parse
from pathlib import Path

import pytest

from bot.app.webhook import (
    MAX_BODY_BYTES,
    MAX_JSON_DEPTH,
    BodyVerifier,
    Decision,
    Outcome,
    UnverifiedBudget,
    after_recording,
    before_reading,
    busy,
    decide,
    json_depth,
    payload_depth,
    signature_for,
    signature_is_valid,
)
from bot.events.router import Event
from bot.store.models import DeliveryStatus
from tests.webhook_payloads import example_payloads

SECRET = b"s3cr3t-for-tests"


def github_signature(secret: bytes, body: bytes) -> str:
    return "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()


def headers_for(body: bytes, event: str = "issues", delivery: str = "d-1", **extra: str):
    return {
        "X-Hub-Signature-256": github_signature(SECRET, body),
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": delivery,
        "Content-Type": "application/json",
        **extra,
    }


def everything(event: Event) -> bool:
    return True


def test_signature_matches_the_example_in_githubs_documentation():
    # docs.github.com, "Validating webhook deliveries": this secret and body give this header.
    expected = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
    assert signature_for(b"It's a Secret to Everybody", b"Hello, World!") == expected
    assert signature_is_valid(b"It's a Secret to Everybody", b"Hello, World!", expected)


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "sha256=",
        "sha1=" + "0" * 40,
        "sha256=" + "0" * 64,
        "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e1",  # short
        "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17é",
    ],
)
def test_signatures_that_do_not_match_are_refused(header):
    assert not signature_is_valid(b"It's a Secret to Everybody", b"Hello, World!", header)


def test_every_real_example_payload_is_accepted_with_its_signature_and_refused_without(
    shared_dir: Path,
):
    examples = example_payloads(shared_dir)
    assert len(examples) > 50  # the whole octokit collection, not a sample
    for event_name, action, path in examples:
        body = path.read_bytes()
        delivery = f"delivery-{path.parent.name}-{path.stem}"
        accepted = decide(
            headers_for(body, event_name, delivery), body, secrets=[SECRET], handles=everything
        )
        assert accepted.outcome is Outcome.ACCEPTED, (path, accepted.reason)
        assert accepted.status == 202
        assert accepted.event.name == event_name
        assert accepted.event.action == action
        assert accepted.event.delivery_id == delivery
        assert accepted.event.payload == json.loads(body)

        tampered = body.replace(b"}", b" }", 1)
        refused = decide(
            headers_for(body, event_name, delivery), tampered, secrets=[SECRET], handles=everything
        )
        assert (refused.outcome, refused.status) == (Outcome.REJECTED, 401), path

        wrong_secret = {
            **headers_for(body, event_name, delivery),
            "X-Hub-Signature-256": github_signature(b"another secret", body),
        }
        refused = decide(wrong_secret, body, secrets=[SECRET], handles=everything)
        assert refused.status == 401, path


def test_during_a_rotation_either_secret_signs_and_any_other_is_401():
    old, new = b"old-secret-0123456789", b"new-secret-0123456789"
    body = b'{"action": "opened"}'
    for signer, status in ((old, 202), (new, 202), (SECRET, 401)):
        headers = {**headers_for(body), "X-Hub-Signature-256": github_signature(signer, body)}
        assert decide(headers, body, secrets=[old, new], handles=everything).status == status


def test_missing_signature_is_401_before_anything_is_parsed():
    headers = headers_for(b"not even json")
    del headers["X-Hub-Signature-256"]
    decision = decide(headers, b"not even json", secrets=[SECRET], handles=everything)
    assert (decision.outcome, decision.status, decision.event) == (Outcome.REJECTED, 401, None)


def test_header_names_are_case_insensitive():
    body = b'{"action": "opened"}'
    headers = {k.lower(): v for k, v in headers_for(body).items()}
    assert decide(headers, body, secrets=[SECRET], handles=everything).status == 202


def test_without_a_secret_unsigned_deliveries_pass():
    body = b'{"zen": "Keep it logically awesome."}'
    headers = {"X-GitHub-Event": "ping", "X-GitHub-Delivery": "abc"}
    decision = decide(headers, body, secrets=None, handles=everything)
    assert decision.outcome is Outcome.ACCEPTED
    assert decision.event.payload["zen"] == "Keep it logically awesome."


@pytest.mark.parametrize(
    ("change", "reason_part"),
    [
        ({"X-GitHub-Event": ""}, "X-GitHub-Event"),
        ({"X-GitHub-Event": "issues; rm -rf"}, "X-GitHub-Event"),
        ({"X-GitHub-Delivery": ""}, "X-GitHub-Delivery"),
        ({"X-GitHub-Delivery": "x" * 101}, "X-GitHub-Delivery"),
    ],
)
def test_malformed_headers_are_400(change, reason_part):
    body = b'{"action": "opened"}'
    decision = decide({**headers_for(body), **change}, body, secrets=[SECRET], handles=everything)
    assert (decision.outcome, decision.status) == (Outcome.REJECTED, 400)
    assert reason_part in decision.reason


@pytest.mark.parametrize("body", [b"[1, 2]", b"{not json", b"\xff\xfe"])
def test_a_body_that_is_not_a_json_object_is_400(body):
    decision = decide(headers_for(body), body, secrets=[SECRET], handles=everything)
    assert (decision.outcome, decision.status) == (Outcome.REJECTED, 400)


def test_form_encoded_deliveries_are_read_from_their_payload_field():
    payload = {"action": "opened", "issue": {"number": 7}}
    body = urllib.parse.urlencode({"payload": json.dumps(payload)}).encode()
    headers = headers_for(body, **{"Content-Type": "application/x-www-form-urlencoded"})
    decision = decide(headers, body, secrets=[SECRET], handles=everything)
    assert decision.status == 202
    assert decision.event.payload == payload


def test_a_body_over_githubs_25_mb_is_413():
    body = b"{" + b" " * MAX_BODY_BYTES + b"}"
    decision = decide(headers_for(b"{}"), body, secrets=[SECRET], handles=everything)
    assert (decision.outcome, decision.status) == (Outcome.REJECTED, 413)


def nested(depth: int, inner: str = "1") -> bytes:
    """A JSON object whose ``x`` holds ``depth - 1`` arrays, built without the code under test."""
    return ('{"x": ' + "[" * (depth - 1) + inner + "]" * (depth - 1) + "}").encode()


def test_json_nested_at_the_limit_passes_and_one_deeper_is_400():
    at_limit = nested(MAX_JSON_DEPTH)
    assert (
        decide(headers_for(at_limit), at_limit, secrets=[SECRET], handles=everything).status == 202
    )
    for depth in (MAX_JSON_DEPTH + 1, 1_000, 100_000):
        body = nested(depth)
        decision = decide(headers_for(body), body, secrets=[SECRET], handles=everything)
        assert (decision.outcome, decision.status) == (Outcome.REJECTED, 400), depth
        assert f"nests {depth} levels deep" in decision.reason


def test_brackets_inside_strings_do_not_count_as_nesting():
    body = json.dumps({"title": "[" * 500 + '{\\"' * 100, "body": "]" * 900}).encode()
    decision = decide(headers_for(body), body, secrets=[SECRET], handles=everything)
    assert decision.status == 202
    assert decision.event.payload["title"].startswith("[[[")


def test_deep_json_inside_a_form_encoded_delivery_is_400():
    body = urllib.parse.urlencode({"payload": nested(1_000).decode()}).encode()
    headers = headers_for(body, **{"Content-Type": "application/x-www-form-urlencoded"})
    assert decide(headers, body, secrets=[SECRET], handles=everything).status == 400


@pytest.mark.parametrize(
    ("payload", "reason_part"),
    [
        ('{"installation": {"id": 9223372036854775808}}', "does not fit in 64 bits"),
        ('{"installation": {"id": -9223372036854775809}}', "does not fit in 64 bits"),
        ('{"issue": {"number": 100000000000000000000000}}', "does not fit in 64 bits"),
        ('{"installation": {"id": "42"}}', "installation.id is a JSON str"),
        ('{"installation": {"id": 4.2}}', "installation.id is a JSON float"),
        ('{"installation": {"id": true}}', "installation.id is a JSON bool"),
        ('{"installation": 42}', "installation is a JSON int"),
        ('{"repository": {"id": [1]}}', "repository.id is a JSON list"),
    ],
)
def test_ids_github_sends_as_64_bit_integers_are_400_otherwise(payload, reason_part):
    body = payload.encode()
    decision = decide(headers_for(body), body, secrets=[SECRET], handles=everything)
    assert (decision.outcome, decision.status) == (Outcome.REJECTED, 400)
    assert reason_part in decision.reason


def test_the_largest_64_bit_installation_id_passes():
    body = b'{"installation": {"id": 9223372036854775807}}'
    decision = decide(headers_for(body), body, secrets=[SECRET], handles=everything)
    assert decision.status == 202
    assert decision.event.payload["installation"]["id"] == 2**63 - 1


def test_events_no_handler_wants_are_acknowledged_and_ignored():
    body = b'{"action": "published"}'
    wanted = {"issues.opened"}
    decision = decide(
        headers_for(body, "release"), body, secrets=[SECRET], handles=lambda e: e.key in wanted
    )
    assert (decision.outcome, decision.status) == (Outcome.IGNORED, 200)
    assert decision.body() == {
        "outcome": "ignored",
        "reason": "no handler for release.published",
        "event": "release.published",
        "delivery": "d-1",
    }


def accepted() -> Decision:
    event = Event("issues", {"action": "opened"}, "d-9")
    return Decision(Outcome.ACCEPTED, 202, "queued", event)


def test_a_new_delivery_stays_accepted():
    decision = after_recording(accepted(), inserted=True, stored_status=DeliveryStatus.RECEIVED)
    assert (decision.outcome, decision.status) == (Outcome.ACCEPTED, 202)


@pytest.mark.parametrize(
    "status", [DeliveryStatus.QUEUED, DeliveryStatus.DONE, DeliveryStatus.FAILED]
)
def test_a_redelivery_of_a_queued_or_finished_delivery_is_a_200_duplicate(status):
    decision = after_recording(accepted(), inserted=False, stored_status=status)
    assert (decision.outcome, decision.status) == (Outcome.DUPLICATE, 200)
    assert status.value in decision.reason


def test_a_redelivery_of_one_that_never_reached_the_queue_is_queued_now():
    decision = after_recording(accepted(), inserted=False, stored_status=DeliveryStatus.RECEIVED)
    assert decision.outcome is Outcome.ACCEPTED


# --- reading a body before its signature is known -------------------------------------------


def test_a_body_fed_in_chunks_verifies_like_the_whole_body():
    body = json.dumps({"action": "opened", "text": "é" * 5000}).encode()
    old, new = b"old-secret-0123456789", b"new-secret-0123456789"
    for signer in (old, new):
        verifier = BodyVerifier([old, new])
        for start in range(0, len(body), 777):
            verifier.update(body[start : start + 777])
        assert verifier.size == len(body)
        assert verifier.matches(github_signature(signer, body))
    verifier = BodyVerifier([old, new])
    verifier.update(body[:-1])
    assert not verifier.matches(github_signature(old, body))
    assert not verifier.matches(github_signature(b"a third secret", body[:-1]))
    assert not verifier.matches(None)
    assert not verifier.matches("sha256=" + "é" * 64)


@pytest.mark.parametrize(
    ("change", "status", "reason_part"),
    [
        ({"X-Hub-Signature-256": None}, 401, "missing"),
        ({"X-Hub-Signature-256": "sha1=" + "0" * 40}, 401, "does not match"),
        ({"X-Hub-Signature-256": "sha256=" + "0" * 63}, 401, "does not match"),
        ({"X-Hub-Signature-256": "sha256=" + "g" * 64}, 401, "does not match"),
        ({"Content-Length": str(MAX_BODY_BYTES + 1)}, 413, "body over"),
    ],
)
def test_what_can_be_answered_without_reading_the_body(change, status, reason_part):
    headers = {**headers_for(b"{}"), "Content-Length": "2"}
    for key, value in change.items():
        if value is None:
            del headers[key]
        else:
            headers[key] = value
    decision = before_reading(headers, secrets=[SECRET])
    assert decision is not None
    assert (decision.outcome, decision.status) == (Outcome.REJECTED, status)
    assert reason_part in decision.reason


def test_a_well_formed_signature_or_no_secret_means_the_body_must_be_read():
    assert before_reading(headers_for(b"{}"), secrets=[SECRET]) is None
    assert before_reading({"X-GitHub-Event": "ping"}, secrets=None) is None
    hex_upper = "sha256=" + github_signature(SECRET, b"{}").removeprefix("sha256=").upper()
    upper = {**headers_for(b"{}"), "X-Hub-Signature-256": hex_upper}
    assert before_reading(upper, secrets=[SECRET]) is None  # refused later, by the HMAC


def test_the_budget_admits_bodies_up_to_its_count_and_bytes_and_takes_them_back():
    budget = UnverifiedBudget(max_bodies=2, max_bytes=100)
    first = budget.open(60)
    assert first is not None
    assert budget.open(41) is None  # 60 + 41 bytes: over
    second = budget.open(None)  # chunked: reserves as it reads
    assert second is not None
    assert budget.open(0) is None  # two bodies already
    assert second.cover(40)
    assert not second.cover(41)  # 60 + 41
    assert budget.in_use() == (2, 100)
    first.close()
    first.close()  # closing twice gives back once
    assert budget.in_use() == (1, 40)
    assert second.cover(100)
    second.close()
    assert budget.in_use() == (0, 0)


def test_a_declared_length_that_the_body_does_not_reach_costs_no_more():
    budget = UnverifiedBudget(max_bodies=4, max_bytes=100)
    reservation = budget.open(50)
    assert reservation is not None
    assert reservation.cover(10)
    assert budget.in_use() == (1, 50)
    reservation.close()


def test_busy_is_a_503_that_names_when_to_come_back():
    decision = busy(5)
    assert (decision.outcome, decision.status) == (Outcome.BUSY, 503)
    assert "5 s" in decision.reason


@pytest.mark.parametrize(
    ("payload", "reason_part"),
    [
        ('{"action": "' + "a" * 65 + '"}', "action has 65 characters"),
        ('{"repository": {"full_name": "' + "o/" + "r" * 199 + '"}}', "full_name has 201"),
        ('{"issue": {"title": "\\ud800"}}', "lone UTF-16 surrogate"),
        ('{"issue": {"title": "x\\udfff"}}', "lone UTF-16 surrogate"),
        ('{"\\udbff": 1}', "lone UTF-16 surrogate"),
    ],
)
def test_fields_the_store_could_never_keep_are_400(payload, reason_part):
    body = payload.encode()
    decision = decide(headers_for(body), body, secrets=[SECRET], handles=everything)
    assert (decision.outcome, decision.status) == (Outcome.REJECTED, 400)
    assert reason_part in decision.reason


def test_escaped_surrogate_pairs_and_fields_at_their_limits_pass():
    body = json.dumps(
        {"action": "a" * 64, "repository": {"full_name": "o/" + "r" * 198}, "title": "😀"},
        ensure_ascii=True,
    ).encode()
    assert b"\\ud83d\\ude00" in body
    decision = decide(headers_for(body), body, secrets=[SECRET], handles=everything)
    assert decision.status == 202
    assert decision.event.payload["title"] == "😀"


@pytest.mark.parametrize(
    ("payload", "reason_part"),
    [
        ('{"score": NaN}', "NaN is not a JSON value"),
        ('{"score": Infinity}', "Infinity is not a JSON value"),
        ('{"score": [-Infinity]}', "-Infinity is not a JSON value"),
        ('{"score": 1e400}', "too large for a float"),
        ('{"score": -1.5e309}', "too large for a float"),
    ],
)
def test_numbers_json_cannot_write_back_are_400(payload, reason_part):
    """Python reads them; the store would write NaN/Infinity, which PostgreSQL refuses."""
    body = payload.encode()
    decision = decide(headers_for(body), body, secrets=[SECRET], handles=everything)
    assert (decision.outcome, decision.status) == (Outcome.REJECTED, 400)
    assert reason_part in decision.reason


def test_ordinary_floats_pass():
    body = b'{"score": 0.5, "tiny": 1e-400, "big": 1.7e308}'
    decision = decide(headers_for(body), body, secrets=[SECRET], handles=everything)
    assert decision.status == 202
    assert decision.event.payload == {"score": 0.5, "tiny": 0.0, "big": 1.7e308}


def test_payload_depth_counts_parsed_containers_like_the_text_scan():
    for text in ('{"a": 1}', '{"a": [{"b": []}]}', "[]", "7", '"x"', nested(200).decode()):
        assert payload_depth(json.loads(text)) == json_depth(text), text
