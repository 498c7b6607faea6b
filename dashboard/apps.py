from django.apps import AppConfig


class DashboardConfig(AppConfig):
    name = "dashboard"
    verbose_name = "Ecosystem dashboard"

    def ready(self) -> None:
        """Add the job figures that /metrics computes at scrape time."""
        from dashboard.collectors import job_metrics
        from realtime.api import register_collector

        register_collector(job_metrics)
