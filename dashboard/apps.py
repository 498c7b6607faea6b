from django.apps import AppConfig


class DashboardConfig(AppConfig):
    name = "dashboard"
    verbose_name = "Ecosystem dashboard"

    def ready(self) -> None:
        """Add the job figures that /metrics computes at scrape time."""
        from composer_realtime import metrics
        from dashboard.collectors import job_metrics

        metrics.register_collector(job_metrics)
