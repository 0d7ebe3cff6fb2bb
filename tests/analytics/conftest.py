import pytest

from tests.accounts.helpers import fresh_rate_limits

__all__ = ["fresh_rate_limits"]


@pytest.fixture(autouse=True)
def _forget_rate_limits(fresh_rate_limits: None) -> None:
    """Sign-in and API counters are per tenant schema, and test schema names repeat."""
