"""The route walker and object registry behind the tenant-isolation suite (tests/test_isolation.py).

The suite finds every route under /api/v1/ on its own. For routes with path parameters it
needs real objects of the *other* tenant, so that "B's id on A's host is a 404" means
something. Register how to make one, in `tests/<app>/isolation_factories.py` (imported
automatically):

    from tests.factories import DocumentFactory
    from tests.isolation_registry import route_objects

    @route_objects("document-detail", "document-reindex")
    def a_document(owner: User) -> dict[str, object]:
        # Runs inside tenant B's schema; returns the route's URL kwargs.
        document = DocumentFactory(uploaded_by=owner)
        return {"pk": document.pk}

Routes without a factory get a generic id (and are listed in the suite's output). Routes that
answer without credentials (sign-in, refresh, logout) are listed in `PUBLIC_ROUTES`: they still
refuse foreign or forged credentials, but "no credentials" is not a 401 for them.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.urls import URLPattern, URLResolver, get_resolver
from django.urls.converters import IntConverter, UUIDConverter
from rest_framework.views import APIView

from accounts.models import User

API_PREFIX = "/api/v1/"
TENANT_URLCONF = "config.urls_tenant"
HTTP_METHODS = ("get", "post", "put", "patch", "delete")
GENERIC_INT = 987_654_321
GENERIC_STR = "no-such-object"

Factory = Callable[[User], dict[str, Any]]
FACTORIES: dict[str, Factory] = {}
PUBLIC_ROUTES = {"api-token", "api-token-refresh", "api-logout"}


def route_objects(*route_names: str) -> Callable[[Factory], Factory]:
    """Register a factory that creates tenant B's object for these route names."""

    def register(factory: Factory) -> Factory:
        for name in route_names:
            FACTORIES[name] = factory
        return factory

    return register


def load_factories() -> None:
    """Import every tests/<app>/isolation_factories.py so their registrations run."""
    tests_dir = Path(__file__).resolve().parent
    for package in pkgutil.iter_modules([str(tests_dir)]):
        if package.ispkg and (tests_dir / package.name / "isolation_factories.py").exists():
            importlib.import_module(f"tests.{package.name}.isolation_factories")


@dataclass(frozen=True)
class ApiRoute:
    name: str | None
    template: str
    params: dict[str, str] = field(default_factory=dict)  # name -> "int" / "uuid" / "str"
    methods: tuple[str, ...] = ()
    view_class: type | None = None

    @property
    def label(self) -> str:
        return self.name or self.template

    def url(self, kwargs: dict[str, Any] | None = None) -> str:
        values = {name: self.generic_value(name) for name in self.params}
        values.update(kwargs or {})

        def fill(match: re.Match[str]) -> str:
            return str(values[match.group("name")])

        path = re.sub(r"<(?:\w+:)?(?P<name>\w+)>", fill, self.template)
        path = re.sub(r"\(\?P<(?P<name>\w+)>[^)]*\)", fill, path)
        return path.replace("^", "").replace("$", "")

    def generic_value(self, name: str) -> Any:
        kind = self.params[name]
        if kind == "int":
            return GENERIC_INT
        if kind == "uuid":
            return uuid.uuid4()
        return GENERIC_STR


def _param_kinds(pattern: Any) -> dict[str, str]:
    converters = getattr(pattern, "converters", {}) or {}
    kinds = {}
    for name, converter in converters.items():
        if isinstance(converter, IntConverter):
            kinds[name] = "int"
        elif isinstance(converter, UUIDConverter):
            kinds[name] = "uuid"
        else:
            kinds[name] = "str"
    regex: re.Pattern[str] | None = getattr(pattern, "regex", None)
    if regex is not None:
        for name in regex.groupindex:
            kinds.setdefault(name, "int" if r"\d" in regex.pattern else "str")
    return kinds


def _methods(callback: Any) -> tuple[type | None, tuple[str, ...]]:
    actions = getattr(callback, "actions", None)
    view_class = getattr(callback, "cls", None) or getattr(callback, "view_class", None)
    if actions:
        return view_class, tuple(m for m in HTTP_METHODS if m in actions)
    if view_class is None:
        return None, ("get",)
    return view_class, tuple(m for m in HTTP_METHODS if hasattr(view_class, m))


def _walk(patterns: list[Any], prefix: str, params: dict[str, str]) -> Iterator[ApiRoute]:
    for pattern in patterns:
        route = prefix + str(pattern.pattern)
        kinds = {**params, **_param_kinds(pattern.pattern)}
        if isinstance(pattern, URLResolver):
            yield from _walk(pattern.url_patterns, route, kinds)
        elif isinstance(pattern, URLPattern):
            view_class, methods = _methods(pattern.callback)
            yield ApiRoute(pattern.name, route, kinds, methods, view_class)


def api_routes() -> list[ApiRoute]:
    """Every route under /api/v1/ on a tenant host (format-suffix variants left out)."""
    routes = _walk(get_resolver(TENANT_URLCONF).url_patterns, "/", {})
    return [
        route
        for route in routes
        if route.template.replace("^", "").startswith(API_PREFIX) and "format" not in route.params
    ]


def is_drf_view(route: ApiRoute) -> bool:
    return route.view_class is not None and issubclass(route.view_class, APIView)
