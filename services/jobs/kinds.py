"""Which job kinds and sweeps a runner knows. A domain adds its own with one line here."""

from __future__ import annotations

from typing import TYPE_CHECKING

from services.jobs.runner import JobRegistry

if TYPE_CHECKING:
    from services.bootstrap import Container


def build_registry(container: Container) -> JobRegistry:
    """Every job kind of every domain, wired to this container's adapters."""
    from services.cases import scheduled as cases_jobs
    from services.payments import scheduled as payments_jobs
    from services.payments.runtime import payments_runtime

    registry = JobRegistry()
    payments_jobs.register(registry, payments_runtime(container))
    notifications = container.extras.get("notifications")
    if notifications is not None:
        registry.add_sweep("notifications", notifications.tick)  # type: ignore[attr-defined]
    cases_jobs.register(registry, container)
    return registry
