"""PostgreSQL, Redis (cache, locks, broker) and where files live."""

from __future__ import annotations

from config import embedded
from config.env import BASE_DIR, env, env_path
from config.settings.base import PRODUCTION, TESTING, VAR_DIR

# --- data stores ----------------------------------------------------------------------

if env.str("DATABASE_URL", default=""):
    _db = env.db_url("DATABASE_URL")
else:
    _db = embedded.postgres_database(VAR_DIR)
if env.str("DATABASE_NAME", default=""):
    # Lets test-run workers reach the test database on the same server.
    _db["NAME"] = env.str("DATABASE_NAME")
_db["ENGINE"] = "config.dbbackend"  # django-tenants' backend, cheaper health check
_db.setdefault("CONN_MAX_AGE", env.int("DB_CONN_MAX_AGE", default=60))
_db["CONN_HEALTH_CHECKS"] = True
# A server that does not answer (a host gone, a black-holed failover address) fails the
# request within this many seconds, as a 503 (config/exceptions.py), instead of holding a
# web thread for the operating system's TCP timeout of minutes.
_db.setdefault("OPTIONS", {}).setdefault(
    "connect_timeout", env.int("DB_CONNECT_TIMEOUT", default=3)
)
DATABASES = {"default": _db}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env.str("REDIS_URL", default="") or embedded.redis_url(VAR_DIR)
CACHES = {
    "default": {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_FUNCTION": "django_tenants.cache.make_key",
        "REVERSE_KEY_FUNCTION": "django_tenants.cache.reverse_key",
        "OPTIONS": {
            "CLIENT_CLASS": "django_redis.client.DefaultClient",
            "SOCKET_CONNECT_TIMEOUT": 2,
            "SOCKET_TIMEOUT": 2,
        },
        "KEY_PREFIX": env.str("CACHE_KEY_PREFIX", default="test" if TESTING else "di"),
    }
}
SESSION_ENGINE = "django.contrib.sessions.backends.db"

# --- files ----------------------------------------------------------------------------

MEDIA_ROOT = env_path("MEDIA_ROOT", VAR_DIR / "media")
MEDIA_URL = "/media/"
INDEX_ROOT = env_path("INDEX_ROOT", VAR_DIR / "indexes")
STATIC_URL = "/static/"
STATIC_ROOT = env_path("STATIC_ROOT", VAR_DIR / "staticfiles")
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    # Files land under MEDIA_ROOT/<schema>/ for the tenant the request or task runs in.
    "default": {"BACKEND": "django_tenants.files.storage.TenantFileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if PRODUCTION
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
# Development serves static files straight from the apps; production from collectstatic.
WHITENOISE_USE_FINDERS = not PRODUCTION
MULTITENANT_RELATIVE_MEDIA_ROOT = "%s"
