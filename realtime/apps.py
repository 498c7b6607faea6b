from django.apps import AppConfig


class RealtimeConfig(AppConfig):
    name = "realtime"
    verbose_name = "Real-time transport"

    def ready(self) -> None:
        from realtime import (
            checks,  # noqa: F401 - registers the system checks
            presence,  # noqa: F401 - web processes share their figures
        )
