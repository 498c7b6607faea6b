from django.apps import AppConfig


class DashboardConfig(AppConfig):
    name = "dashboard"
    verbose_name = "Ecosystem dashboard"

    def ready(self) -> None:
        """Add the job figures that /metrics computes at scrape time."""
        from dashboard.collectors import job_metrics
        from realtime import presence  # noqa: F401 - web processes share their figures
        from realtime.api import metrics

        metrics.register_collector(job_metrics)
