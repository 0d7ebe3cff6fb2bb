"""Django settings, read from the environment (docs/configuration.md lists every variable).

Split by concern, one module each, read in this order (a later module may use an earlier
one's values): base (environment, hosts, apps), stores (PostgreSQL, Redis, files), security
(auth, rate limits, headers), tasks (Celery), providers (OpenAI-compatible services),
ingestion, search, observability, operations (backups and the platform gauges, which add their
beat entries to the tasks').

`DJANGO_ENV=development` (default) gives safe local defaults and embedded PostgreSQL /
Redis when DATABASE_URL / REDIS_URL are unset. `DJANGO_ENV=production` refuses to start
without a SECRET_KEY and turns on the HTTPS hardening that `check --deploy` expects.
"""

from config.settings.base import *  # noqa: F403
from config.settings.ingestion import *  # noqa: F403
from config.settings.observability import *  # noqa: F403
from config.settings.operations import *  # noqa: F403
from config.settings.providers import *  # noqa: F403
from config.settings.search import *  # noqa: F403
from config.settings.security import *  # noqa: F403
from config.settings.stores import *  # noqa: F403
from config.settings.tasks import *  # noqa: F403
