from django.apps import AppConfig


def _check_answers() -> None:
    """Readiness: the configured answer provider answers (only providers that can be asked)."""
    from queries.services import answerer

    check = getattr(answerer(), "check", None)
    if check is not None:
        check()


class QueriesConfig(AppConfig):
    name = "queries"

    def ready(self) -> None:
        from config.health import register_check

        register_check("answers", _check_answers, critical=False, cache_seconds=60.0)
