"""Benchmark history: one row per reference-model run, read back newest first for trends."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.store.models import BenchResult, utcnow


def add_bench_result(
    session: Session,
    *,
    repo: str,
    ref: str,
    sha: str,
    model_name: str,
    metrics: dict[str, Any],
    environment: dict[str, Any],
    branch: str | None = None,
    created_at: datetime | None = None,
) -> BenchResult:
    """Stores one benchmark run of ``model_name`` at commit ``sha``."""
    result = BenchResult(
        repo=repo,
        ref=ref,
        sha=sha,
        branch=branch,
        model_name=model_name,
        metrics=metrics,
        environment=environment,
        created_at=created_at or utcnow(),
    )
    session.add(result)
    session.flush()
    return result


def bench_history(
    session: Session, repo: str, model_name: str, branch: str | None = None, limit: int = 20
) -> list[BenchResult]:
    """The latest ``limit`` runs of a model in a repository, newest first.

    ``branch=None`` means every branch. Runs stored at the same instant come newest-inserted
    first, so the order is total and stable.
    """
    statement = select(BenchResult).where(
        BenchResult.repo == repo, BenchResult.model_name == model_name
    )
    if branch is not None:
        statement = statement.where(BenchResult.branch == branch)
    statement = statement.order_by(BenchResult.created_at.desc(), BenchResult.id.desc()).limit(
        limit
    )
    return list(session.execute(statement).scalars())
