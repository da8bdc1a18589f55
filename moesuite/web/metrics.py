"""Prometheus metrics: request latency, scores per band, jobs submitted, and the review backlog.

Each app has its own registry (tests build several apps in one process). The backlog is read
from the database when Prometheus scrapes, so it is right whichever process changed the queue.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class _BacklogCollector(Collector):
    def __init__(self, read: Callable[[], object]) -> None:
        self.read = read

    def collect(self) -> Iterator[GaugeMetricFamily]:
        stats = self.read()
        by_status = GaugeMetricFamily(
            "moesuite_review_cases", "Review cases by status", labels=["status"]
        )
        for status, count in stats.by_status.items():
            by_status.add_metric([status], count)
        yield by_status
        sla = GaugeMetricFamily(
            "moesuite_review_sla_cases", "Pending review cases by SLA state", labels=["state"]
        )
        sla.add_metric(["at_risk"], stats.sla_at_risk)
        sla.add_metric(["breached"], stats.sla_breached)
        yield sla
        age = GaugeMetricFamily(
            "moesuite_review_backlog", "Pending review cases by age", labels=["age"]
        )
        for label, count in stats.backlog_by_age.items():
            age.add_metric([label], count)
        yield age


class ServiceMetrics:
    """The app's metrics and their registry."""

    def __init__(self, read_review_stats: Callable[[], object]) -> None:
        self.registry = CollectorRegistry()
        self.latency = Histogram(
            "moesuite_http_request_duration_seconds",
            "HTTP request latency by route template",
            ["method", "route", "status"],
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.scores = Counter(
            "moesuite_scores",
            "Transactions scored through the API by band",
            ["band"],
            registry=self.registry,
        )
        self.jobs = Counter(
            "moesuite_jobs_submitted",
            "Jobs submitted through the API by kind",
            ["kind"],
            registry=self.registry,
        )
        self.registry.register(_BacklogCollector(read_review_stats))
