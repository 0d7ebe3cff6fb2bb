"""Invitation links: a one-time password-set URL, handed to a pluggable delivery.

The link is `/password/set/<uidb64>/<token>/` on the workspace's primary domain, with
PUBLIC_URL_SCHEME and PUBLIC_URL_PORT; never on the request's Host (its port, an alias) or
X-Forwarded-Proto, which a caller could point at their own server. Django's
PasswordResetTokenGenerator signs it: it stops working once a password is set (the token covers
the password hash) and after PASSWORD_RESET_TIMEOUT. `MEMBER_INVITE_DELIVERY` names a callable
`deliver(*, user, link, invited_by)`; the default only logs that an invitation was made,
and the API returns the link to the admin, so no mail server is needed.
"""

from __future__ import annotations

import logging
from typing import Protocol

from django.conf import settings
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django.utils.module_loading import import_string

from accounts.models import User
from tenants.models import Domain, Tenant

logger = logging.getLogger(__name__)


class InvitationDelivery(Protocol):
    def __call__(self, *, user: User, link: str, invited_by: User) -> None: ...


def tenant_url(tenant: Tenant, path: str) -> str:
    """An absolute URL on the tenant's primary domain (any of its domains if none is primary)."""
    domain = (
        Domain.objects.filter(tenant=tenant)
        .order_by("-is_primary", "domain")
        .values_list("domain", flat=True)
        .first()
    )
    if domain is None:
        raise ImproperlyConfigured(
            f"The workspace '{tenant.schema_name}' has no domain; add one in Django admin."
        )
    port = settings.PUBLIC_URL_PORT
    return f"{settings.PUBLIC_URL_SCHEME}://{domain}{f':{port}' if port else ''}{path}"


def password_set_link(request: HttpRequest, user: User) -> str:
    """The user's one-time link; only the tenant the request was routed to is read from it."""
    path = reverse(
        "password-set",
        kwargs={
            "uidb64": urlsafe_base64_encode(force_bytes(user.pk)),
            "token": default_token_generator.make_token(user),
        },
    )
    return tenant_url(request.tenant, path)  # type: ignore[attr-defined]


def log_invitation(*, user: User, link: str, invited_by: User) -> None:
    """Default delivery: record the invitation (the link itself goes back to the admin only)."""
    logger.info("%s invited %s (%s); password-set link issued.", invited_by, user, user.role)


def deliver_invitation(*, user: User, link: str, invited_by: User) -> None:
    deliver: InvitationDelivery = import_string(settings.MEMBER_INVITE_DELIVERY)
    deliver(user=user, link=link, invited_by=invited_by)


class PasswordResetDelivery(Protocol):
    def __call__(self, *, user: User, link: str) -> None: ...


def log_password_reset(*, user: User, link: str) -> None:
    """Default delivery for "forgot password": the log, since no mail server is configured.

    The link itself is logged only with DEBUG on (development), because anyone who reads
    production logs could otherwise take over the account; production sets
    PASSWORD_RESET_DELIVERY to a function that emails it.
    """
    if settings.DEBUG:
        logger.info("Password reset for %s requested: %s", user, link)
    else:
        logger.info("Password reset for %s requested; link issued.", user)


def deliver_password_reset(*, user: User, link: str) -> None:
    deliver: PasswordResetDelivery = import_string(settings.PASSWORD_RESET_DELIVERY)
    deliver(user=user, link=link)
