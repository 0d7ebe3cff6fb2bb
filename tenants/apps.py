from django.apps import AppConfig


class TenantsConfig(AppConfig):
    name = "tenants"
    verbose_name = "Tenants"

    def ready(self) -> None:
        # Every Celery task runs in the schema of the tenant that sent it.
        from tenants import celery_signals

        celery_signals.connect()
