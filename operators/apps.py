from django.apps import AppConfig


class OperatorsConfig(AppConfig):
    """Django admin for operators: tenants, support views, usage; the demo tenant."""

    name = "operators"
    verbose_name = "Operators"
