"""The environment, hosts, installed apps, middleware and templates."""

from __future__ import annotations

import sys

from django.core.exceptions import ImproperlyConfigured

from config.env import BASE_DIR, env, env_list, env_path

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
# Where people write for help: named (as a mail link) on the page of a deactivated workspace.
SUPPORT_EMAIL = env.str("SUPPORT_EMAIL", default="")
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

# --- i18n ------------------------------------------------------------------------------------

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
