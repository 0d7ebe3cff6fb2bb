"""The operator audit trail: every admin action on a tenant is recorded and logged."""

from __future__ import annotations

import logging

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

from tenants.models import OperatorAction, Tenant

logger = logging.getLogger("tenants.operator")


def record_operator_action(
    *,
    operator: AbstractBaseUser | AnonymousUser,
    action: str,
    tenant: Tenant | None,
    detail: str = "",
) -> OperatorAction:
    who = str(getattr(operator, "email", "") or operator)
    schema = tenant.schema_name if tenant is not None else ""
    entry = OperatorAction.objects.create(
        operator=who, action=action, tenant=tenant, tenant_schema=schema, detail=detail
    )
    # The log line reaches log shipping even if someone later edits the table.
    logger.info(
        "operator action: %s %s tenant=%s %s", who, action, schema or "-", detail,
        extra={"operator": who, "action": action, "tenant": schema},
    )  # fmt: skip
    return entry
