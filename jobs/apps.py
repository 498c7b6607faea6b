from django.apps import AppConfig


class JobsConfig(AppConfig):
    name = "jobs"
    verbose_name = "Composer jobs"

    def ready(self) -> None:
        """Register the generation system checks."""
        from jobs import checks  # noqa: F401 - registers the system checks
