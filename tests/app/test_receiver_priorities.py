"""What keeps the receiver's answers fast beside busy workers: deliveries written in groups
(one transaction and one fsync for those that arrived together), worker processes at a
lower CPU priority, and worker commits that do not wait for the disk."""

from __future__ import annotations

import asyncio
import shutil
import time

from sqlalchemy import text

from bot.app.receiver import GroupCommit
from bot.app.server import worker_command
from bot.app.settings import AppSettings
from bot.app.webhook import Decision, Outcome
from bot.store.database import Store


def _decision(n: int) -> Decision:
    return Decision(Outcome.ACCEPTED, 202, f"delivery {n}", None)


def test_what_arrives_during_a_write_is_written_as_one_batch_in_order():
    batches: list[list[str]] = []

    def write(batch: list[Decision]) -> list[Decision]:
        batches.append([d.reason for d in batch])
        time.sleep(0.05)  # a commit waiting for the disk
        return [Decision(Outcome.ACCEPTED, 202, f"stored {d.reason}", None) for d in batch]

    async def scenario() -> list[str]:
        group = GroupCommit(write)
        first = asyncio.create_task(group.submit(_decision(0)))
        await asyncio.sleep(0.01)  # the first write is running now
        rest = [asyncio.create_task(group.submit(_decision(n))) for n in range(1, 8)]
        return [a.reason for a in await asyncio.gather(first, *rest)]

    answers = asyncio.run(scenario())
    assert answers == [f"stored delivery {n}" for n in range(8)]
    assert batches == [["delivery 0"], [f"delivery {n}" for n in range(1, 8)]]


def test_a_write_that_fails_answers_each_delivery_503():
    def write(batch: list[Decision]) -> list[Decision]:
        raise RuntimeError("disk full")

    async def scenario() -> list[Decision]:
        group = GroupCommit(write)
        return await asyncio.gather(*(group.submit(_decision(n)) for n in range(3)))

    assert [(a.status, a.outcome) for a in asyncio.run(scenario())] == [(503, Outcome.DEFERRED)] * 3


def test_worker_processes_start_nicer_through_the_nice_program(tmp_path):
    settings = AppSettings(api_url="http://127.0.0.1:1", queue_file=tmp_path / "q.sqlite3")
    command = worker_command(settings, 2, nice=10)
    if shutil.which("nice"):
        assert command[1:3] == ["-n", "10"] and command[0].endswith("nice")
        assert command[command.index("--worker-nice") + 1] == "0"  # niced already
    else:
        assert command[command.index("--worker-nice") + 1] == "10"  # the process does it
    plain = worker_command(settings, 2, nice=0)
    assert "nice" not in plain[0] and plain[plain.index("--worker-nice") + 1] == "0"


def _synchronous(store: Store) -> int:
    with store.reading() as session:
        return int(session.execute(text("PRAGMA synchronous")).scalar_one())


def test_worker_commits_do_not_wait_for_the_disk_and_the_receivers_do(tmp_path):
    url = f"sqlite:///{tmp_path / 's.sqlite3'}"
    with Store.open(url) as receiver, Store.open(url, durable_commits=False) as worker:
        assert _synchronous(receiver) == 2  # FULL: an acknowledged delivery survives
        assert _synchronous(worker) == 1  # NORMAL: redone if lost
