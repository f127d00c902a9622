"""Fuzzing the receiver with hypothesis: whatever arrives, the answer is never a 5xx.

Through FastAPI's TestClient (the app's own logic, no sockets) onto a real store (SQLite and
PostgreSQL) and a real SQLite queue. Three kinds of request: anything at all (headers, body,
signature); signed JSON documents of any shape, GitHub's fields included; signed text built
from JSON's tokens, so malformed, deep, huge-number and lone-surrogate bodies come up.

A 5xx here is a delivery GitHub would show as failed and that would fail again on every
redelivery, since nothing about it changes. Bounded: a few hundred examples, no deadline
(the machine is shared), derandomized so a run is repeatable.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.app.metrics import ReceiverMetrics
from bot.app.receiver import ReceiverLimits, create_receiver
from bot.events.router import Router
from bot.store.database import Store
from bot.store.deliveries import get_delivery
from tests.app.test_receiver import sqlite_queue

SECRET = b"fuzzing-secret-0123456789"
EVENTS = ("issues", "issue_comment", "pull_request", "ping", "installation")
FUZZ = settings(
    max_examples=120,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

ascii_text = st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=80)


def router() -> Router:
    routes = Router()
    for name in EVENTS:
        routes.on(name)(lambda event, ctx: None)
    return routes


@pytest.fixture
def client(store: Store, tmp_path: Path) -> Iterator[TestClient]:
    app = create_receiver(
        store=store,
        queue=sqlite_queue(tmp_path),
        router=router(),
        secrets=[SECRET],
        max_body_bytes=64_000,
        limits=ReceiverLimits(),
        metrics=ReceiverMetrics(),
    )
    with TestClient(app, raise_server_exceptions=False) as running:
        yield running


def sign(body: bytes, secret: bytes = SECRET) -> str:
    return "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()


def post(client: TestClient, body: bytes, headers: dict[str, str]) -> Any:
    answer = client.post("/webhook", content=body, headers=headers)
    assert answer.status_code < 500, (answer.status_code, answer.text, headers, body[:300])
    assert answer.json()["outcome"] in {"accepted", "duplicate", "ignored", "rejected"}
    return answer


@FUZZ
@given(
    body=st.binary(max_size=3000),
    event=st.one_of(st.sampled_from(EVENTS), ascii_text),
    delivery=st.one_of(st.uuids().map(str), ascii_text),
    signature=st.sampled_from(["right", "other-secret", "none", "garbage"]),
    garbage=ascii_text,
    content_type=st.sampled_from(
        ["application/json", "application/x-www-form-urlencoded", "text/plain", "", "x/;;"]
    ),
)
def test_any_request_gets_a_4xx_or_2xx(
    client, body, event, delivery, signature, garbage, content_type
):
    headers = {"X-GitHub-Event": event, "X-GitHub-Delivery": delivery}
    if content_type:
        headers["Content-Type"] = content_type
    if signature == "right":
        headers["X-Hub-Signature-256"] = sign(body)
    elif signature == "other-secret":
        headers["X-Hub-Signature-256"] = sign(body, b"another-secret-0123456789")
    elif signature == "garbage":
        headers["X-Hub-Signature-256"] = garbage
    answer = post(client, body, headers)
    if signature != "right":
        assert answer.status_code == 401


json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=40),
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=25,
)
github_fields = st.fixed_dictionaries(
    {},
    optional={
        "action": st.one_of(st.text(max_size=80), json_values),
        "installation": st.one_of(st.fixed_dictionaries({"id": json_values}), json_values),
        "repository": st.one_of(
            st.fixed_dictionaries(
                {"id": json_values, "full_name": st.one_of(st.text(max_size=250), json_values)}
            ),
            json_values,
        ),
        "sender": st.one_of(st.fixed_dictionaries({"id": json_values}), json_values),
        "issue": json_values,
    },
)


@FUZZ
@given(
    fields=github_fields,
    extra=st.dictionaries(st.text(max_size=10), json_values, max_size=3),
    event=st.sampled_from(EVENTS),
    ascii_only=st.booleans(),
)
def test_signed_json_of_any_shape_is_stored_whole_or_refused_with_400(
    client, store, fields, extra, event, ascii_only
):
    document = {**extra, **fields}
    body = json.dumps(document, ensure_ascii=ascii_only, allow_nan=True).encode(
        "utf-8", errors="surrogatepass"
    )
    delivery = str(uuid.uuid4())
    headers = {
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": delivery,
        "X-Hub-Signature-256": sign(body),
        "Content-Type": "application/json",
    }
    answer = post(client, body, headers)
    with store.session() as session:
        stored = get_delivery(session, delivery)
    if answer.status_code == 202:
        assert stored is not None
        assert stored.payload == json.loads(body)  # kept whole
    else:
        assert answer.status_code == 400, answer.text
        assert stored is None


json_tokens = st.sampled_from(
    ["{", "}", "[", "]", ",", ":", '"a"', '"\\ud800"', '"\\udc00\\ud800"', '"\\ud83d\\ude00"',
     '"\\u0000"', "1", "-0", "1e400", "9223372036854775808", "NaN", "-Infinity", "true",
     "null", '"action"', '"installation"', '"id"', '"repository"', '"full_name"', " "]
)  # fmt: skip


@FUZZ
@given(
    tokens=st.lists(json_tokens, max_size=60),
    depth=st.integers(min_value=0, max_value=200),
    event=st.sampled_from(EVENTS),
)
def test_signed_text_from_json_tokens_never_gets_a_5xx(client, store, tokens, depth, event):
    text = '{"x": ' + "[" * depth + "".join(tokens) + "]" * depth + "}"
    body = text.encode()
    delivery = str(uuid.uuid4())
    headers = {
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": delivery,
        "X-Hub-Signature-256": sign(body),
    }
    answer = post(client, body, headers)
    assert answer.status_code in (202, 400)
    with store.session() as session:
        assert (get_delivery(session, delivery) is not None) == (answer.status_code == 202)
