"""`migrate` means `migrate_schemas` here (public, tenants, template), as in django-tenants."""

from tenants.management.commands.migrate_schemas import Command

__all__ = ["Command"]
