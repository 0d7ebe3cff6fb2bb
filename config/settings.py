"""Django settings, read from the environment (see README "Configuration").

`DJANGO_ENV=development` (default) gives safe local defaults and embedded PostgreSQL /
Redis when DATABASE_URL / REDIS_URL are unset. `DJANGO_ENV=production` refuses to start
without a SECRET_KEY and turns on the HTTPS hardening that `check --deploy` expects.
"""

from __future__ import annotations

import os
import sys
from datetime import timedelta

from django.core.exceptions import ImproperlyConfigured
from kombu import Exchange, Queue

from config import embedded
from config.env import BASE_DIR, env, env_list, env_path
from config.logging import configure_structlog, log_format, logging_config

DJANGO_ENV = env.str("DJANGO_ENV", default="development")
if DJANGO_ENV not in {"development", "production"}:
    raise ImproperlyConfigured(
        f"DJANGO_ENV must be 'development' or 'production', not {DJANGO_ENV!r}."
    )
PRODUCTION = DJANGO_ENV == "production"
TESTING = env.bool("DI_TESTING", default="pytest" in sys.modules)

DEBUG = env.bool("DEBUG", default=not PRODUCTION)
if PRODUCTION and DEBUG:
    raise ImproperlyConfigured("DEBUG must be off when DJANGO_ENV=production.")

SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if PRODUCTION:
        raise ImproperlyConfigured(
            "SECRET_KEY is required when DJANGO_ENV=production; set it to a long random string "
            '(python -c "import secrets; print(secrets.token_urlsafe(64))").'
        )
    SECRET_KEY = "dev-insecure-" + "k" * 50

VAR_DIR = env_path("VAR_DIR", BASE_DIR / "var")
# Parent domain of the tenants' hosts: tenant "acme" lives at acme.<TENANT_BASE_DOMAIN>.
TENANT_BASE_DOMAIN = env.str("TENANT_BASE_DOMAIN", default="localhost")
PUBLIC_DOMAIN = env.str("PUBLIC_DOMAIN", default=TENANT_BASE_DOMAIN)
ALLOWED_HOSTS = env_list(
    "ALLOWED_HOSTS",
    [PUBLIC_DOMAIN, f".{TENANT_BASE_DOMAIN}", "127.0.0.1"] if not PRODUCTION else [],
)
if PRODUCTION and not ALLOWED_HOSTS:
    raise ImproperlyConfigured(
        "ALLOWED_HOSTS is required when DJANGO_ENV=production, e.g. '.example.com'."
    )

# --- applications ---------------------------------------------------------------------

SHARED_APPS = [
    # Our tenants app comes first so its management commands (create_tenant,
    # migrate_schemas) take precedence over django-tenants' own of the same name.
    "tenants",
    "django_tenants",
    "accounts",
    "operators",
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.admin",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "rest_framework",
    "corsheaders",
    "csp",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_prometheus",
    "analytics",
]
TENANT_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "accounts",
    "rest_framework_simplejwt.token_blacklist",
    "documents",
    "search",
    "queries",
]
INSTALLED_APPS = SHARED_APPS + [app for app in TENANT_APPS if app not in SHARED_APPS]

TENANT_MODEL = "tenants.Tenant"
TENANT_DOMAIN_MODEL = "tenants.Domain"
PUBLIC_SCHEMA_URLCONF = "config.urls_public"
ROOT_URLCONF = "config.urls_tenant"
# New tenants are cloned from this migrated, empty schema instead of running migrations.
TENANT_BASE_SCHEMA = "tenant_template"
TENANT_CREATION_FAKES_MIGRATIONS = True
# Issue `SET search_path` once per schema switch instead of before every query.
TENANT_LIMIT_SET_CALLS = True
# Seconds each process remembers which tenant a host routes to (tenants/middleware.py); a
# deactivation or deletion reaches other processes within this time. 0 looks up every request.
TENANT_CACHE_SECONDS = env.float("TENANT_CACHE_SECONDS", default=5.0)
DATABASE_ROUTERS = ["django_tenants.routers.TenantSyncRouter"]
AUTH_USER_MODEL = "accounts.User"

MIDDLEWARE = [
    # First, so every /api/ answer (routing refusals and 500s too) is marked private.
    "config.cache_headers.PrivateApiResponsesMiddleware",
    # Under /api/, a non-JSON 500 (Django's debug page, DEBUG only) becomes the JSON error.
    "config.exceptions.ApiServerErrorMiddleware",
    "tenants.middleware.TenantRoutingMiddleware",
    # Binds request_id and the tenant schema to log lines; returns X-Request-ID.
    "config.request_context.RequestContextMiddleware",
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "accounts.middleware.RateLimitHeadersMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",
]

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]
WSGI_APPLICATION = "config.wsgi.application"

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

# --- i18n ------------------------------------------------------------------------------------

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- auth -----------------------------------------------------------------------------

PASSWORD_HASHERS = [
    # Argon2id: memory-hard, and fast enough to keep tenant provisioning under a second.
    "accounts.hashers.OwaspArgon2PasswordHasher",
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
if TESTING:
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher", *PASSWORD_HASHERS]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "/login/"
LOGIN_REDIRECT_URL = "/"

REST_FRAMEWORK = {
    # Every API view gets these unless it says otherwise (see README "API").
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.authentication.TenantJWTAuthentication",
        "accounts.authentication.ApiKeyAuthentication",
        # The browsable API / dashboard fetches; DRF enforces CSRF for session users.
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_THROTTLE_CLASSES": ["accounts.ratelimits.ApiRateThrottle"],
    "DEFAULT_PAGINATION_CLASS": "config.pagination.StandardPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    # No multipart by default: only the upload endpoint reads files (documents/api.py, with
    # its streaming size limits); elsewhere a file would be spooled to disk before refusal.
    "DEFAULT_PARSER_CLASSES": [
        "config.parsers.LimitedJSONParser",
        "rest_framework.parsers.FormParser",
    ],
    "EXCEPTION_HANDLER": "config.exceptions.api_exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}
# JSON and form fields (not files) above this are refused with 413. Files are capped by
# the upload endpoint (DOCUMENT_MAX_BYTES); past FILE_UPLOAD_MAX_MEMORY_SIZE they stream to disk.
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DATA_UPLOAD_MAX_MEMORY_SIZE", default=1024 * 1024)
SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=env.int("JWT_ACCESS_MINUTES", default=15)),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=env.int("JWT_REFRESH_DAYS", default=7)),
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    "USER_ID_FIELD": "id",
    "AUTH_HEADER_TYPES": ("Bearer",),
    "UPDATE_LAST_LOGIN": False,
}
MEMBER_INVITE_DELIVERY = env.str(
    "MEMBER_INVITE_DELIVERY", default="accounts.invitations.log_invitation"
)
# Callable `(*, user, link)` that sends a "forgot password" link (e.g. by email).
PASSWORD_RESET_DELIVERY = env.str(
    "PASSWORD_RESET_DELIVERY", default="accounts.invitations.log_password_reset"
)
# Mailed links are <scheme>://<tenant's primary domain>[:port]/...: built from these, never
# from the request's Host or X-Forwarded-* headers, which a caller controls.
PUBLIC_URL_SCHEME = env.str("PUBLIC_URL_SCHEME", default="https" if PRODUCTION else "http")
if PUBLIC_URL_SCHEME not in {"http", "https"}:
    raise ImproperlyConfigured(
        f"PUBLIC_URL_SCHEME must be 'http' or 'https', not {PUBLIC_URL_SCHEME!r}."
    )
# Empty: the scheme's own port. Development links reach `make run` (PORT); the test client
# serves no port.
PUBLIC_URL_PORT = env.str(
    "PUBLIC_URL_PORT",
    default="" if PRODUCTION or TESTING else env.str("PORT", default="8000"),
)
if PUBLIC_URL_PORT and not (PUBLIC_URL_PORT.isdecimal() and 0 < int(PUBLIC_URL_PORT) < 65536):
    raise ImproperlyConfigured(
        f"PUBLIC_URL_PORT must be a port number (1-65535) or empty, not {PUBLIC_URL_PORT!r}."
    )

# Rate limits (fixed-window counters in this cache, one Redis round trip per check; see
# accounts/ratelimits.py and accounts/ratecounters.py).
RATELIMIT_USE_CACHE = "default"
# Sign-in and password limits (accounts/signin_limits.py says who is counted how).
RATELIMIT_LOGIN = env.str("RATELIMIT_LOGIN", default="10/m")  # failures per (IP, account)
RATELIMIT_LOGIN_IP = env.str("RATELIMIT_LOGIN_IP", default="30/m")  # attempts per IP
RATELIMIT_PASSWORD_RESET = env.str("RATELIMIT_PASSWORD_RESET", default="3/h")  # links per account
RATELIMIT_PASSWORD_RESET_IP = env.str("RATELIMIT_PASSWORD_RESET_IP", default="10/m")
RATELIMIT_API = env.str("RATELIMIT_API", default="600/m")  # per user, API key or anonymous IP
# How many reverse proxies in front of us append to X-Forwarded-For (0: ignore the header).
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)

# --- background work ------------------------------------------------------------------

# kombu spells a Redis unix socket "redis+socket://"; redis-py and django-redis "unix://".
_CELERY_REDIS_URL = (
    "redis+socket://" + REDIS_URL.removeprefix("unix://")
    if REDIS_URL.startswith("unix://")
    else REDIS_URL
)
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=_CELERY_REDIS_URL)
CELERY_RESULT_BACKEND = env.str("CELERY_RESULT_BACKEND", default=_CELERY_REDIS_URL)
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_RESULT_EXPIRES = 3600
CELERY_VISIBILITY_TIMEOUT = env.int("CELERY_VISIBILITY_TIMEOUT", default=900)
CELERY_BROKER_TRANSPORT_OPTIONS = {
    # A task not acknowledged within this window (worker killed) is redelivered.
    "visibility_timeout": CELERY_VISIBILITY_TIMEOUT,
}
# Every task runs under a time limit. The soft one raises SoftTimeLimitExceeded inside the
# task (ingestion marks its unfinished documents failed with a sentence); the hard one, a
# minute later, kills the pool process. Both stay below the visibility timeout, or a task
# still running would be delivered a second time.
CELERY_TASK_SOFT_TIME_LIMIT = env.int("TASK_SOFT_TIME_LIMIT", default=600)
CELERY_TASK_TIME_LIMIT = CELERY_TASK_SOFT_TIME_LIMIT + 60
if CELERY_TASK_TIME_LIMIT >= CELERY_VISIBILITY_TIMEOUT:
    raise ImproperlyConfigured(
        f"TASK_SOFT_TIME_LIMIT ({CELERY_TASK_SOFT_TIME_LIMIT} s) plus 60 s must stay below "
        f"CELERY_VISIBILITY_TIMEOUT ({CELERY_VISIBILITY_TIMEOUT} s); raise the latter too."
    )
# Test runs use their own queue names so a running `make run` worker never takes their tasks.
QUEUE_PREFIX = env.str("QUEUE_PREFIX", default=f"test{os.getpid()}-" if TESTING else "")
# Declared, so a worker started without -Q consumes every one of them (-Q picks a subset
# for dedicated pools); config/workers.py tracks which of them a live worker consumes.
TASK_QUEUE_NAMES = ("ingest", "default", "ingest_bulk", "maintenance")
# Each queue gets its own direct exchange and routing key, as Celery creates a missing queue;
# a bare Queue(name) would be bound to the default exchange and key, so every message sent to
# one queue would be routed to all four.
CELERY_TASK_QUEUES = tuple(
    Queue(f"{QUEUE_PREFIX}{name}", Exchange(f"{QUEUE_PREFIX}{name}"), f"{QUEUE_PREFIX}{name}")
    for name in TASK_QUEUE_NAMES
)
CELERY_TASK_DEFAULT_QUEUE = f"{QUEUE_PREFIX}default"
CELERY_TASK_ROUTES = {
    "documents.ingest_document": {"queue": f"{QUEUE_PREFIX}ingest"},
    "documents.ingest_documents": {"queue": f"{QUEUE_PREFIX}ingest_bulk"},
    "documents.sweep_stuck_documents": {"queue": f"{QUEUE_PREFIX}maintenance"},
    "search.compact_index": {"queue": f"{QUEUE_PREFIX}maintenance"},
    "search.rebuild_index": {"queue": f"{QUEUE_PREFIX}maintenance"},
}
CELERY_BEAT_SCHEDULE: dict[str, dict[str, object]] = {
    "sweep-stuck-documents": {"task": "documents.sweep_stuck_documents", "schedule": 60.0},
}
CELERY_BEAT_SCHEDULE["accounts-flush-expired-tokens"] = {
    "task": "accounts.flush_expired_tokens",
    "schedule": timedelta(hours=24),
    "options": {"queue": f"{QUEUE_PREFIX}maintenance"},
}
CELERY_BEAT_SCHEDULE["queries-purge-query-log"] = {
    "task": "queries.purge_query_log",
    "schedule": timedelta(hours=24),
    "options": {"queue": f"{QUEUE_PREFIX}maintenance"},
}
CELERY_TASK_ALWAYS_EAGER = False

# --- external providers ---------------------------------------------------------------

OPENAI_API_KEY = env.str("OPENAI_API_KEY", default="")
OPENAI_BASE_URL = env.str("OPENAI_BASE_URL", default="") or None
EMBEDDING_BACKEND = env.str("EMBEDDING_BACKEND", default="hashing")
OPENAI_EMBEDDING_MODEL = env.str("OPENAI_EMBEDDING_MODEL", default="text-embedding-3-small")
EMBED_BATCH_SIZE = env.int("EMBED_BATCH_SIZE", default=128)
ANSWER_BACKEND = env.str("ANSWER_BACKEND", default="extractive")

# --- documents and ingestion ---------------------------------------------------------

DOCUMENT_MAX_BYTES = env.int("DOCUMENT_MAX_MB", default=50) * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024  # larger uploads spill to a temp file
CHUNK_TARGET_TOKENS = env.int("CHUNK_TARGET_TOKENS", default=400)
CHUNK_OVERLAP_RATIO = env.float("CHUNK_OVERLAP_RATIO", default=0.15)
# Chunking runs in the worker (after the sandboxed extraction) in linear time; this bounds
# one document's share anyway (a 50 MB text of punctuation takes ~25 s on 2 cores).
CHUNK_SECONDS = env.float("CHUNK_SECONDS", default=120.0)
EXTRACT_CPU_SECONDS = env.int("EXTRACT_CPU_SECONDS", default=30)
EXTRACT_MEMORY_MB = env.int("EXTRACT_MEMORY_MB", default=1024)
EXTRACT_WALL_SECONDS = env.int("EXTRACT_WALL_SECONDS", default=60)
# A document pending/processing for longer than this is re-queued by the sweep.
INGEST_STUCK_MINUTES = env.int("INGEST_STUCK_MINUTES", default=15)
INGEST_MAX_ATTEMPTS = env.int("INGEST_MAX_ATTEMPTS", default=3)
# Vector index: exact (flat) up to this many vectors, approximate (IVF) past it.
INDEX_APPROX_THRESHOLD = env.int("INDEX_APPROX_THRESHOLD", default=20_000)
# Loaded tenant indexes kept in each process's memory (least recently used evicted).
INDEX_MEMORY_BUDGET_MB = env.int("INDEX_MEMORY_BUDGET_MB", default=1024)
# New chunks are folded into the index file at most this often per tenant.
INDEX_COMPACT_DELAY_SECONDS = env.int("INDEX_COMPACT_DELAY_SECONDS", default=5)
# Each chunk's nearest neighbours linked at compaction (search/chunk_links.py), for
# lexical document expansion; 0 links none.
INDEX_NEIGHBOURS = env.int("INDEX_NEIGHBOURS", default=7)
# Documents per bulk ingestion task (uploads of many files, `manage.py ingest`).
INGEST_BATCH_SIZE = env.int("INGEST_BATCH_SIZE", default=32)
# Past this many documents in flight, a tenant's new work goes to the bulk queue.
INGEST_BULK_THRESHOLD = env.int("INGEST_BULK_THRESHOLD", default=20)

# --- queries (search, ask, cache, log) -----------------------------------------------------

# Candidates taken from each of lexical and dense search before hybrid fusion, and how they
# are fused: "convex" (min-max-normalised scores, weighted) or "rrf" (reciprocal ranks, with
# QUERY_RRF_K). QUERY_DENSE_WEIGHT is the dense list's share (0..1); unset, each embedder's
# own share applies (hashing 0.25, local/openai 0.5). Chosen on Cranfield (docs/search.md).
QUERY_CANDIDATE_DEPTH = env.int("QUERY_CANDIDATE_DEPTH", default=100)
QUERY_FUSION = env.str("QUERY_FUSION", default="convex")
if QUERY_FUSION not in ("convex", "rrf"):
    raise ImproperlyConfigured(
        f"QUERY_FUSION is {QUERY_FUSION!r}; set it to 'convex' or 'rrf', or leave it unset."
    )
QUERY_RRF_K = env.int("QUERY_RRF_K", default=60)
QUERY_DENSE_WEIGHT = env.float("QUERY_DENSE_WEIGHT", default=None)
if QUERY_DENSE_WEIGHT is not None and not 0.0 <= QUERY_DENSE_WEIGHT <= 1.0:
    raise ImproperlyConfigured(
        f"QUERY_DENSE_WEIGHT is {QUERY_DENSE_WEIGHT}; give a share between 0 and 1, or unset it."
    )
# Hybrid re-ranking by the candidates' similarity to each other
# (search/score_regularisation.py): each candidate borrows QUERY_NEIGHBOUR_WEIGHT of its
# score from its QUERY_NEIGHBOURS most similar hits among the QUERY_NEIGHBOUR_SOURCES best.
# Unset weight: the embedder's own (hashing 0, i.e. off; local/openai 0.5).
QUERY_NEIGHBOUR_WEIGHT = env.float("QUERY_NEIGHBOUR_WEIGHT", default=None)
if QUERY_NEIGHBOUR_WEIGHT is not None and not 0.0 <= QUERY_NEIGHBOUR_WEIGHT <= 1.0:
    raise ImproperlyConfigured(
        f"QUERY_NEIGHBOUR_WEIGHT is {QUERY_NEIGHBOUR_WEIGHT}; give a weight between 0 and 1, "
        "or unset it."
    )
QUERY_NEIGHBOUR_SOURCES = env.int("QUERY_NEIGHBOUR_SOURCES", default=50)
QUERY_NEIGHBOURS = env.int("QUERY_NEIGHBOURS", default=7)
# Lexical document expansion (search/expansion.py): a linked chunk's term counts are
# (1 - w) of its own plus w of its neighbours', adding at most QUERY_EXPANSION_TERMS new words.
# 0 turns it off (the links stay). Measured on Cranfield in docs/search.md.
QUERY_EXPANSION_WEIGHT = env.float("QUERY_EXPANSION_WEIGHT", default=0.4)
if not 0.0 <= QUERY_EXPANSION_WEIGHT < 1.0:
    raise ImproperlyConfigured(
        f"QUERY_EXPANSION_WEIGHT is {QUERY_EXPANSION_WEIGHT}; give a share from 0 (off) up to, "
        "but not including, 1."
    )
QUERY_EXPANSION_TERMS = env.int("QUERY_EXPANSION_TERMS", default=30)
# RM3 pseudo-relevance feedback on the BM25 ranking (lexical and hybrid modes): one more
# sparse pass per query; +0.024 nDCG@10 on Cranfield with Anserini's defaults (docs/search.md).
QUERY_LEXICAL_FEEDBACK = env.bool("QUERY_LEXICAL_FEEDBACK", default=True)
# Weight the hashing embedder's query vector by idf over the tenant's chunks (stored vectors
# stay tf-only); other embedders ignore it. docs/search.md has the measurements.
QUERY_DENSE_IDF = env.bool("QUERY_DENSE_IDF", default=True)
# Hybrid search scores BM25 on a second thread while the vectors are searched (both release
# the GIL): the lexical stage's time overlaps the dense stage's. Off = one after the other.
QUERY_PARALLEL_HYBRID = env.bool("QUERY_PARALLEL_HYBRID", default=True)
QUERY_MAX_TOP_K = 100
# gunicorn workers build the search caches (BM25, query IDF, vector index) of up to this many
# tenants searched in the last SEARCH_WARMUP_DAYS before serving, for at most
# SEARCH_WARMUP_SECONDS (keep it under the gunicorn timeout); see search/warmup.py.
SEARCH_WARMUP_TENANTS = env.int("SEARCH_WARMUP_TENANTS", default=0 if TESTING else 8)
SEARCH_WARMUP_SECONDS = env.float("SEARCH_WARMUP_SECONDS", default=30.0)
SEARCH_WARMUP_DAYS = env.float("SEARCH_WARMUP_DAYS", default=7.0)
# Memory each process may spend on tenants' BM25 matrices (about 16 bytes per distinct word
# of each chunk: ~100 MB for 100k chunks); least recently searched tenants are dropped first.
SEARCH_LEXICAL_CACHE_MB = env.float("SEARCH_LEXICAL_CACHE_MB", default=1024.0)
# Each compaction also builds the tenant's BM25 matrix and stores it next to the vector
# snapshot; processes memory-map it instead of building their own (search/bm25_store.py).
SEARCH_LEXICAL_STORE = env.bool("SEARCH_LEXICAL_STORE", default=True)
# Search and ask responses are cached this long (the key also carries the index version).
QUERY_CACHE_TTL_SECONDS = env.int("QUERY_CACHE_TTL_SECONDS", default=300)
# Query-log rows (and their feedback) older than this are deleted nightly; 0 keeps them all.
# The default outlives the longest analytics window (365 days).
QUERY_LOG_RETENTION_DAYS = env.int("QUERY_LOG_RETENTION_DAYS", default=400)
# Chunks handed to the answerer as sources.
ANSWER_SOURCES = env.int("ANSWER_SOURCES", default=5)
OPENAI_CHAT_MODEL = env.str("OPENAI_CHAT_MODEL", default="gpt-4o-mini")
ANSWER_TIMEOUT_SECONDS = env.float("ANSWER_TIMEOUT_SECONDS", default=30.0)
ANSWER_MAX_RETRIES = env.int("ANSWER_MAX_RETRIES", default=2)
# USD per million tokens, for the query log's cost estimate (defaults: gpt-4o-mini and
# text-embedding-3-small list prices; set them to your provider's).
PRICE_PROMPT_PER_MTOK = env.float("PRICE_PROMPT_PER_MTOK", default=0.15)
PRICE_COMPLETION_PER_MTOK = env.float("PRICE_COMPLETION_PER_MTOK", default=0.60)
PRICE_EMBEDDING_PER_MTOK = env.float("PRICE_EMBEDDING_PER_MTOK", default=0.02)

# --- security -------------------------------------------------------------------------

SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False  # the dashboard's small JS reads it for fetch() calls
# Our own static files only: no inline script or style, no third-party origins. Swagger UI
# (/api/docs/) loads its init script as a file and embeds its icons as data: images.
CONTENT_SECURITY_POLICY = {
    # Django admin (operators only, on the public host) relies on inline styles and scripts.
    "EXCLUDE_URL_PREFIXES": ["/admin/"],
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}
# Browser apps on these origins may call the API (tokens, not cookies: no credentials).
CORS_ALLOWED_ORIGINS = env_list("CORS_ALLOWED_ORIGINS", [])
CORS_URLS_REGEX = r"^/api/.*$"
CORS_ALLOW_CREDENTIALS = False
CORS_ALLOW_HEADERS = ["accept", "authorization", "content-type", "x-api-key", "x-csrftoken"]
CORS_EXPOSE_HEADERS = ["Retry-After", "X-RateLimit-Limit", "X-RateLimit-Remaining"]

SPECTACULAR_SETTINGS = {
    "TITLE": "DI Platform API",
    "DESCRIPTION": (
        "Upload documents, search them and ask questions with cited answers. Authenticate "
        "with a Bearer access token from /api/v1/auth/token/ or a workspace API key. Errors "
        'look like {"error": {"code", "message", "fields"?}}.'
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SWAGGER_UI_SETTINGS": {"deepLinking": True, "persistAuthorization": False},
    # 405, 500, the rate-limit headers and Retry-After on every operation (config/openapi.py);
    # the default enum hook stays first. Dotted strings: settings cannot import config.openapi.
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "config.openapi.document_common_responses",
    ],
}
if PRODUCTION:
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    # Probes and Prometheus talk plain HTTP to the pod; a redirect would hide the answer.
    SECURE_REDIRECT_EXEMPT = [r"^health/", r"^metrics$"]
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=True)
    if not SECURE_SSL_REDIRECT:
        # TLS is terminated by the load balancer, which redirects plain HTTP itself.
        SILENCED_SYSTEM_CHECKS = ["security.W008"]

# --- observability --------------------------------------------------------------------

SENTRY_DSN = env.str("SENTRY_DSN", default="")
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
# JSON lines in production (or LOG_FORMAT=json), readable console lines in development.
try:
    LOG_FORMAT = log_format()
except ValueError as exc:
    raise ImproperlyConfigured(str(exc)) from exc
LOGGING = logging_config(json_logs=LOG_FORMAT == "json", level=LOG_LEVEL)
configure_structlog()
# The deployed commit (the image build sets it), reported to Sentry as the release.
GIT_SHA = env.str("GIT_SHA", default="")
if SENTRY_DSN:
    import sentry_sdk

    sentry_sdk.init(
        dsn=SENTRY_DSN,
        environment=DJANGO_ENV,
        release=GIT_SHA or None,
        send_default_pii=False,
    )
