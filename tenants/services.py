"""Tenant lifecycle: provisioning (by cloning a template schema), activation, removal."""

from __future__ import annotations

import logging
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.validators import validate_email
from django.db import IntegrityError, ProgrammingError, connection, transaction
from django.utils import timezone
from django_tenants.clone import CloneSchema
from django_tenants.utils import schema_context, schema_exists

from tenants import cloning, partitions
from tenants.db import use_public_schema
from tenants.migration_state import expected_tenant_migrations
from tenants.models import Domain, Tenant, normalise_domain
from tenants.plans import DEFAULT_PLAN, PLANS
from tenants.time_zones import DEFAULT_TIME_ZONE, canonical_time_zone, unknown_time_zone_message
from tenants.validators import validate_domain, validate_schema_name

logger = logging.getLogger(__name__)

# The first admin's role: accounts.models.Role.OWNER (tenants sits below accounts, so it
# names the user model through Django's AUTH_USER_MODEL; a test checks the two agree).
FIRST_ADMIN_ROLE = "owner"
# Arbitrary constant keys for PostgreSQL advisory locks taken by this module.
_TEMPLATE_LOCK_KEY = 0x7E4A_0001


class ProvisioningError(Exception):
    """Provisioning was refused or failed; the message is a sentence for the operator."""


@dataclass(frozen=True)
class ProvisionedTenant:
    tenant: Tenant
    domain: Domain
    admin_email: str
    seconds: float


def template_schema_name() -> str:
    return str(settings.TENANT_BASE_SCHEMA)


def ensure_template_schema(*, verbosity: int = 0) -> bool:
    """Create and migrate the template schema if it is missing; True when it was created.

    Safe under concurrency: a session-level advisory lock lets one caller build it while
    others wait and then find it ready.
    """
    name = template_schema_name()
    if _template_ready(name):
        return False
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(%s)", [_TEMPLATE_LOCK_KEY])
    try:
        if _template_ready(name):
            return False
        use_public_schema()
        with connection.cursor() as cursor:
            cursor.execute(f'CREATE SCHEMA IF NOT EXISTS "{name}"')
        migrate_template(verbosity=verbosity)
        if not _template_ready(name):
            raise ProvisioningError(
                f"Migrating the template schema '{name}' did not apply every migration; "
                "run `python manage.py migrate_schemas` and read its output."
            )
        return True
    finally:
        use_public_schema()
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [_TEMPLATE_LOCK_KEY])


def migrate_template(*, verbosity: int = 0) -> None:
    """Bring the template schema up to date with the tenant apps' migrations."""
    call_command(
        "migrate_schemas",
        schema_name=template_schema_name(),
        tenant=True,
        interactive=False,
        verbosity=verbosity,
    )


_template_verified = False


def _template_ready(name: str) -> bool:
    """True when the template holds every tenant migration (checked once per process)."""
    global _template_verified
    if _template_verified:
        return True
    if not schema_exists(name):
        return False
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s)", [f'"{name}".django_migrations'])
        row = cursor.fetchone()
        if row is None or row[0] is None:
            return False
        # `name` is the configured template schema, not user input.
        cursor.execute(f'SELECT app, name FROM "{name}".django_migrations')  # noqa: S608
        applied = {(app, migration) for app, migration in cursor.fetchall()}
    ready = expected_tenant_migrations() <= applied
    # Remember only what is committed: inside a transaction the schema may yet roll back.
    _template_verified = ready and not connection.in_atomic_block
    return ready


_clone_function_ready = False


def _clone_schema(source: str, target: str) -> None:
    try:
        cloning.clone_schema(source, target)
        return
    except cloning.UnsupportedTemplate:
        logger.warning("template needs django-tenants' generic clone function; using it")
    _clone_schema_generic(source, target)


def _clone_schema_generic(source: str, target: str) -> None:
    global _clone_function_ready
    if not _clone_function_ready:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_proc WHERE proname = 'clone_schema'")
            present = cursor.fetchone() is not None
        if not present:
            CloneSchema()._create_clone_schema_function()
        _clone_function_ready = not connection.in_atomic_block
    with connection.cursor() as cursor:
        cursor.execute("SELECT clone_schema(%s, %s, 'DATA')", [source, target])


def _assert_schema_has_users_table(schema_name: str) -> None:
    # Guards against a broken template: without this check the search path would fall
    # back to the public schema and the tenant's admin would land among the operators.
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s)", [f'"{schema_name}".accounts_user'])
        row = cursor.fetchone()
    if row is None or row[0] is None:
        raise ProvisioningError(
            "The template schema is incomplete; run `python manage.py migrate_schemas` and retry."
        )


def _validate(
    *, schema_name: str, domain: str, admin_email: str, admin_password: str, plan: str
) -> None:
    try:
        validate_schema_name(schema_name)
        validate_domain(domain)
    except ValidationError as exc:
        raise ProvisioningError(" ".join(exc.messages)) from exc
    try:
        validate_email(admin_email)
    except ValidationError as exc:
        raise ProvisioningError(f"The admin email '{admin_email}' is not a valid address.") from exc
    if plan not in PLANS:
        raise ProvisioningError(
            f"Unknown plan '{plan}'; choose one of: {', '.join(sorted(PLANS))}."
        )
    try:
        validate_password(admin_password)
    except ValidationError as exc:
        raise ProvisioningError(
            "The admin password is too weak: " + " ".join(exc.messages)
        ) from exc
    if Tenant.objects.filter(schema_name__iexact=schema_name).exists() or schema_exists(
        schema_name
    ):
        raise ProvisioningError(f"A tenant with the schema name '{schema_name}' already exists.")
    if Domain.objects.filter(domain__iexact=domain).exists():
        raise ProvisioningError(f"The domain '{domain}' is already used by another tenant.")


def provision_tenant(
    *,
    schema_name: str,
    name: str,
    domain: str,
    admin_email: str,
    admin_password: str,
    plan: str = DEFAULT_PLAN,
    time_zone: str = DEFAULT_TIME_ZONE,
) -> ProvisionedTenant:
    """Create a tenant, its schema (cloned from the template), domain and first admin.

    `time_zone` is an IANA name (any case, e.g. "europe/berlin"): analytics count its days.

    Everything happens in one PostgreSQL transaction (DDL included), so a failure at
    any step leaves no tenant row, domain, schema or user behind.
    """
    started = time.perf_counter()
    request = _ProvisioningRequest(
        schema_name=schema_name.strip(),
        name=name.strip() or schema_name.strip(),
        domain=normalise_domain(domain),
        admin_email=admin_email.strip().lower(),
        admin_password=admin_password,
        plan=plan,
        time_zone=_canonical_zone(time_zone),
    )
    use_public_schema()
    request.validate()
    ensure_template_schema()
    try:
        tenant, tenant_domain = _create_in_one_transaction(request)
    except (IntegrityError, ProgrammingError, ValidationError):
        # Someone created the same schema or domain between the checks and this commit (two
        # `create_tenant` at once): say which, as the checks would have.
        use_public_schema()
        request.validate()
        raise
    use_public_schema()
    return ProvisionedTenant(
        tenant=tenant,
        domain=tenant_domain,
        admin_email=request.admin_email,
        seconds=time.perf_counter() - started,
    )


@dataclass(frozen=True)
class _ProvisioningRequest:
    schema_name: str
    name: str
    domain: str
    admin_email: str
    admin_password: str
    plan: str
    time_zone: str

    def validate(self) -> None:
        _validate(
            schema_name=self.schema_name,
            domain=self.domain,
            admin_email=self.admin_email,
            admin_password=self.admin_password,
            plan=self.plan,
        )


def _canonical_zone(time_zone: str) -> str:
    zone_name = canonical_time_zone(time_zone)
    if zone_name is None:
        raise ProvisioningError(unknown_time_zone_message(time_zone))
    return zone_name


def _create_in_one_transaction(request: _ProvisioningRequest) -> tuple[Tenant, Domain]:
    """The tenant row, its primary domain, its cloned schema and its first admin."""
    with transaction.atomic():
        tenant = Tenant(
            schema_name=request.schema_name,
            name=request.name,
            slug=request.schema_name.replace("_", "-"),
            plan=request.plan,
            time_zone=request.time_zone,
        )
        tenant.save()
        domain = Domain.objects.create(domain=request.domain, tenant=tenant, is_primary=True)
        _clone_schema(template_schema_name(), request.schema_name)
        _assert_schema_has_users_table(request.schema_name)
        with schema_context(request.schema_name):
            # The template's monthly partitions may be older than this month.
            partitions.ensure_upcoming(now=timezone.now(), months=2)
            get_user_model().objects.create_user(
                request.admin_email,
                request.admin_password,
                role=FIRST_ADMIN_ROLE,
                full_name="Administrator",
            )
    return tenant, domain


def set_tenant_active(*, tenant: Tenant, active: bool) -> Tenant:
    """Deactivate (requests get 403, data kept) or reactivate a tenant."""
    if tenant.schema_name == "public":
        raise ProvisioningError("The public schema cannot be deactivated.")
    tenant.is_active = active
    tenant.save(update_fields=["is_active", "updated_at"])
    return tenant


def delete_tenant(*, tenant: Tenant) -> None:
    """Remove a tenant for good: its schema, rows, stored files and index files."""
    if tenant.schema_name == "public":
        raise ProvisioningError("The public schema cannot be deleted.")
    use_public_schema()
    schema = tenant.schema_name
    with transaction.atomic():
        tenant.delete(force_drop=True)
    for root in (Path(settings.MEDIA_ROOT), Path(settings.INDEX_ROOT)):
        shutil.rmtree(root / schema, ignore_errors=True)


def default_domain(schema_name: str) -> str:
    """A new tenant's host when none is given: <schema>.<TENANT_BASE_DOMAIN>, `_` as `-`."""
    return normalise_domain(f"{schema_name.replace('_', '-')}.{settings.TENANT_BASE_DOMAIN}")


def ensure_public_tenant(*, domain: str) -> Tenant:
    """The public schema's tenant row and domain, so the operator host routes to admin."""
    use_public_schema()
    tenant, _ = Tenant.objects.get_or_create(
        schema_name="public", defaults={"name": "Platform", "slug": "public"}
    )
    Domain.objects.get_or_create(
        domain=normalise_domain(domain), defaults={"tenant": tenant, "is_primary": True}
    )
    return tenant


def set_time_zone(*, tenant: Tenant, time_zone: str) -> Tenant:
    """Change a workspace's time zone; a name that is not an IANA zone is refused."""
    canonical = canonical_time_zone(time_zone)
    if canonical is None:
        raise ValidationError(unknown_time_zone_message(time_zone), code="unknown_time_zone")
    # The public-schema row, not a routing cache's copy; the save empties those caches.
    row = Tenant.objects.get(pk=tenant.pk)
    row.time_zone = canonical
    row.save(update_fields=["time_zone", "updated_at"])
    tenant.time_zone = canonical
    return row
