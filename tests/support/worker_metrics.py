"""Read the services' Prometheus metrics as a monitoring system would: over HTTP, by name and labels."""

from __future__ import annotations

import httpx
from prometheus_client.parser import text_string_to_metric_families

from devstack import processes
from devstack.stack import metrics_port
from tests.support.stack import RunningStack

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def scrape(url: str) -> Samples:
    text = httpx.get(url, timeout=10).text
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def worker_urls(stack: RunningStack) -> dict[str, str]:
    """The metrics URL of the aggregator and of each processor worker running now."""
    ports = {"aggregator": metrics_port(stack.settings, 0)}
    running = [name for name in processes.recorded_names(stack.paths) if name.startswith("processor-")]
    ports |= {
        name: metrics_port(stack.settings, int(name.removeprefix("processor-")))
        for name in running
        if processes.running_pid(stack.paths, name) is not None
    }
    return {name: f"http://127.0.0.1:{port}/metrics" for name, port in ports.items()}


def processors_total(stack: RunningStack, name: str, **labels: str) -> float:
    """`name` with `labels`, summed over the stack's processor workers."""
    return sum(
        value(scrape(url), name, **labels)
        for worker, url in worker_urls(stack).items()
        if worker.startswith("processor")
    )
