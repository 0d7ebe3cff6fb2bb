"""The operator fixture of the tenants' admin tests, for the backup admin too."""

from tests.tenants.conftest import operator

__all__ = ["operator"]
