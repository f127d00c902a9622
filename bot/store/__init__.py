"""maintbot's state in a real database: SQLite file by default, PostgreSQL by URL.

Open it with ``Store.open()``; do each unit of work in ``with store.session() as session:``
and call the small functions below on that session.
"""

from __future__ import annotations

from bot.store.bench import add_bench_result, bench_history
from bot.store.cache import cache_get, cache_put, cache_put_many, cache_scan
from bot.store.database import Store
from bot.store.deliveries import (
    get_delivery,
    mark_delivery,
    pending_deliveries,
    record_delivery,
)
from bot.store.jobs import finish_job, jobs_for_delivery, start_job
from bot.store.models import (
    BenchResult,
    CacheEntry,
    DeliveryStatus,
    Job,
    JobStatus,
    LabelCorrection,
    Prediction,
    WebhookDelivery,
)
from bot.store.predictions import (
    corrections,
    latest_prediction,
    record_correction,
    record_prediction,
)
from bot.store.urls import DATABASE_URL_ENV

__all__ = [
    "DATABASE_URL_ENV",
    "BenchResult",
    "CacheEntry",
    "DeliveryStatus",
    "Job",
    "JobStatus",
    "LabelCorrection",
    "Prediction",
    "Store",
    "WebhookDelivery",
    "add_bench_result",
    "bench_history",
    "cache_get",
    "cache_put",
    "cache_put_many",
    "cache_scan",
    "corrections",
    "finish_job",
    "get_delivery",
    "jobs_for_delivery",
    "latest_prediction",
    "mark_delivery",
    "pending_deliveries",
    "record_correction",
    "record_delivery",
    "record_prediction",
    "start_job",
]
