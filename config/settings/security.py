"""Sign-in, tokens, passwords, rate limits, mailed links and the HTTP security headers."""

from __future__ import annotations

from datetime import timedelta

from django.core.exceptions import ImproperlyConfigured

from config.env import env, env_list
from config.settings.base import PRODUCTION, TESTING

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
