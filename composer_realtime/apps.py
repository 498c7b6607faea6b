from django.apps import AppConfig


class ComposerRealtimeConfig(AppConfig):
    name = "composer_realtime"
    verbose_name = "Real-time transport"

    def ready(self) -> None:
        from composer_realtime import checks  # noqa: F401 - registers the system checks
