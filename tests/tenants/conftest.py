"""Fixtures for the operator (Django admin) tests of tenants."""

from __future__ import annotations

import pytest
from django.test import Client

from accounts.models import User


@pytest.fixture
def operator() -> Client:
    """A platform operator (superuser) signed in to Django admin on the public host."""
    User.objects.create_superuser(email="op@example.com", password="Operator-pass-42")
    client = Client(HTTP_HOST="localhost")
    assert client.login(username="op@example.com", password="Operator-pass-42")
    return client
