"""Settings shared by every environment; everything that varies comes from the environment.

Variables (all optional in development, see README "Configuration"):
DATABASE_URL, DATABASE_APP_USER, DATABASE_APP_PASSWORD, REDIS_URL, SECRET_KEY, ALLOWED_HOSTS,
SITE_URL, CSRF_TRUSTED_ORIGINS, EMAIL_URL-style settings (EMAIL_HOST ...), DEFAULT_FROM_EMAIL,
API_THROTTLE_RATE.
"""

import os
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlparse

import dj_database_url
from celery.schedules import crontab
from django.utils.translation import gettext_lazy as _

from creditguard import devstack

BASE_DIR = Path(__file__).resolve().parent.parent.parent


def env_bool(name: str, default: bool = False) -> bool:
    return os.environ.get(name, str(default)).strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


SECRET_KEY = os.environ.get("SECRET_KEY", "")
DEBUG = False
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")
# Where users reach the site: the base of every link that leaves it (e-mails, webhooks).
SITE_URL = os.environ.get("SITE_URL", "http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "axes",
    "csp",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "creditguard.tenancy",
    "creditguard.accounts",
    "creditguard.audit",
    "creditguard.api",
    "creditguard.web",
    "creditguard.reference",
    "buyers",
    "monitoring",
    "policies",
    "claims",
    "portfolio",
]

MIDDLEWARE = [
    "creditguard.api.middleware.ProblemDetailsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "creditguard.api.middleware.InputGuardMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",  # request.user.is_verified(): the second factor
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "creditguard.tenancy.middleware.TenantMiddleware",
    # After the tenant is known: a session still owing its code (or, for the administrators of
    # a tenant that requires it, its set-up) may only reach those pages.
    "creditguard.web.middleware.TwoFactorMiddleware",
    "csp.middleware.CSPMiddleware",
    # Last, as django-axes requires: answers a locked-out sign-in with the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "creditguard.urls"
WSGI_APPLICATION = "creditguard.wsgi.application"

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
                "django.template.context_processors.i18n",
                "creditguard.web.context_processors.tenancy",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------
# DATABASE_URL names the *owner* role, which runs migrations. The application itself connects
# as DATABASE_APP_USER, a role that owns nothing, is no superuser and has no BYPASSRLS, so
# PostgreSQL row-level security applies to every query it makes (see creditguard/tenancy/db.py).
DATABASE_URL = os.environ.get("DATABASE_URL") or devstack.EMBEDDED_DATABASE_URL
DATABASE_APP_USER = os.environ.get("DATABASE_APP_USER", "creditguard_app")
DATABASE_APP_PASSWORD = os.environ.get("DATABASE_APP_PASSWORD", "")
_database = dj_database_url.parse(
    DATABASE_URL,
    engine="creditguard.tenancy.postgresql",  # primary keys (tenant_id, id): see its docstring
    conn_max_age=60,
    conn_health_checks=True,
)
DATABASE_OWNER_CREDENTIALS = {"USER": _database["USER"], "PASSWORD": _database["PASSWORD"]}
if os.environ.get("CREDITGUARD_DB_ROLE") != "owner":
    _database.update(USER=DATABASE_APP_USER, PASSWORD=DATABASE_APP_PASSWORD)
# The whole request runs in one transaction so the tenant set with set_config(..., true)
# lives exactly as long as the request (see TenantMiddleware).
_database["ATOMIC_REQUESTS"] = True
DATABASES = {"default": _database}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis, cache, Celery -------------------------------------------------------------------
REDIS_URL = os.environ.get("REDIS_URL") or devstack.EMBEDDED_REDIS_URL


def _redis_db_url(url: str, db: int) -> str:
    parsed = urlparse(url)
    return parsed._replace(path=f"/{db}").geturl()


_redis_db = int(urlparse(REDIS_URL).path.lstrip("/") or 0)
if os.environ.get("PYTEST_XDIST_WORKER"):
    # Parallel test processes each get their own Redis database (gw0 → 1, gw1 → 2, ...).
    _redis_db = 1 + int(os.environ["PYTEST_XDIST_WORKER"].removeprefix("gw"))
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": _redis_db_url(REDIS_URL, _redis_db),
        "KEY_PREFIX": "cg",
    }
}

CELERY_BROKER_URL = _redis_db_url(REDIS_URL, _redis_db)
CELERY_RESULT_BACKEND = _redis_db_url(REDIS_URL, _redis_db)
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = 60 * 60
CELERY_TASK_SOFT_TIME_LIMIT = 55 * 60
CELERY_RESULT_EXPIRES = 60 * 60 * 24
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 2 * 60 * 60}
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE = {
    "beat-heartbeat": {"task": "creditguard.heartbeat", "schedule": 30.0},
    "clear-expired-sessions": {
        "task": "accounts.clear_expired_sessions",
        "schedule": crontab(hour=3, minute=17),
    },
    # Daily: expire lapsed credit limits and insurer covers, remind owners of reviews due.
    "policies-limit-reviews": {
        "task": "policies.limit_reviews_all_tenants",
        "schedule": crontab(hour=5, minute=5),
    },
    # Daily, after the limit reviews: the insurance coverage sweep (deadlines, insured split),
    # then the cover and deadline alerts.
    "policies-insurance-daily": {
        "task": "policies.insurance_daily",
        "schedule": crontab(hour=5, minute=20),
    },
    # Daily, after the insurance sweep: every buyer's figures and the portfolio snapshot.
    "buyers-figures-daily": {
        "task": "buyers.figures_daily",
        "schedule": crontab(hour=5, minute=45),
    },
    # Monthly re-scoring of every buyer of every tenant (period = the 1st of the month).
    "monitoring-rescore-all-tenants": {
        "task": "monitoring.rescore_all_tenants",
        "schedule": crontab(day_of_month=1, hour=2, minute=0),
    },
    "monitoring-detect-new-overdues": {
        "task": "monitoring.detect_new_overdues",
        "schedule": crontab(hour=1, minute=15),
    },
    "monitoring-sweep-webhook-deliveries": {
        "task": "monitoring.sweep_webhook_deliveries",
        "schedule": 60.0,
    },
    "monitoring-evaluate-alerts-daily": {
        "task": "monitoring.evaluate_alerts_daily",
        "schedule": crontab(hour=4, minute=30),
    },
    "monitoring-send-alert-digests": {
        "task": "monitoring.send_alert_digests",
        "schedule": crontab(hour=6, minute=0),
    },
    # Daily: import drafts (uploads never imported) older than IMPORT_DRAFT_RETENTION_DAYS go.
    "buyers-import-drafts-expire": {
        "task": "buyers.import_drafts_expire_all_tenants",
        "schedule": crontab(hour=3, minute=40),
    },
    # Daily; on the first working day of a month it queues every tenant's portfolio risk
    # report of the month before (once per tenant and month).
    "portfolio-monthly-reports": {
        "task": "portfolio.monthly_reports",
        "schedule": crontab(hour=6, minute=30),
    },
}

# Days an import draft (an upload never imported, or a failed import) is kept with its file.
IMPORT_DRAFT_RETENTION_DAYS = int(os.environ.get("IMPORT_DRAFT_RETENTION_DAYS", "7"))

# --- Auth -----------------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # refuses locked-out sign-ins before checking
    "django.contrib.auth.backends.ModelBackend",
]
# Sign-in lockout (creditguard/accounts/security.py): five failures for one address from one
# client lock that pair for 15 minutes; an administrator can unlock from Settings → Users.
AXES_FAILURE_LIMIT = 5
AXES_COOLOFF_TIME = timedelta(minutes=15)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_USERNAME_CALLABLE = "creditguard.accounts.security.login_username"
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_VERBOSE = False
# The client address: REMOTE_ADDR, unless TRUSTED_PROXY_COUNT reverse proxies that append to
# X-Forwarded-For stand in front (a client could forge the header's other entries).
TRUSTED_PROXY_COUNT = int(os.environ.get("TRUSTED_PROXY_COUNT", "0"))
if TRUSTED_PROXY_COUNT:
    AXES_IPWARE_PROXY_COUNT = TRUSTED_PROXY_COUNT
    AXES_IPWARE_META_PRECEDENCE_ORDER = ["HTTP_X_FORWARDED_FOR", "REMOTE_ADDR"]
else:
    AXES_IPWARE_META_PRECEDENCE_ORDER = ["REMOTE_ADDR"]
# Content-Security-Policy: every asset ships with the app, so only 'self'. Inline style
# *attributes* (chart bar widths) are allowed; inline scripts and styles elements are not.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "style-src-attr": ["'unsafe-inline'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}
# Two-factor sign-in (django-otp TOTP, creditguard/accounts/two_factor.py): each wrong code
# doubles the wait before the next one may be tried (OTP_TOTP_THROTTLE_FACTOR seconds, then 2x).
OTP_TOTP_ISSUER = "CreditGuard"
OTP_TOTP_THROTTLE_FACTOR = 1
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "login"
SESSION_COOKIE_AGE = 60 * 60 * 12
PASSWORD_RESET_TIMEOUT = 60 * 60 * 3

# --- Internationalisation -------------------------------------------------------------------
LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("zh-hans", _("Simplified Chinese"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
USE_TZ = True
TIME_ZONE = "UTC"

# --- Static files ---------------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", BASE_DIR / ".data" / "media"))

# --- Email ----------------------------------------------------------------------------------
EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "587"))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", True)
DEFAULT_FROM_EMAIL = os.environ.get(
    "DEFAULT_FROM_EMAIL", "CreditGuard <no-reply@creditguard.local>"
)

# --- REST API -------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "creditguard.api.authentication.ApiKeyAuthentication",
        "creditguard.api.session.VerifiedSessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["creditguard.api.permissions.TenantPermission"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["creditguard.api.parsers.JSONParser"],
    "DEFAULT_PAGINATION_CLASS": "creditguard.api.pagination.CursorPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_THROTTLE_CLASSES": ["creditguard.api.throttling.ApiKeyRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {"api_key": os.environ.get("API_THROTTLE_RATE", "1200/min")},
    "EXCEPTION_HANDLER": "creditguard.api.problems.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_VERSIONING_CLASS": None,
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "CreditGuard API",
    "DESCRIPTION": (
        "REST API for ERP integration: buyers, receivables, limits, scores and alerts. "
        "Authenticate with a tenant API key: `Authorization: Bearer cg_...`. Errors are "
        "RFC 9457 `application/problem+json`. Lists use cursor pagination."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "creditguard.api.schema.add_problem_responses",
        "creditguard.api.schema.add_links",
    ],
    "ENUM_NAME_OVERRIDES": {
        "BuyerStatusEnum": "buyers.models.Buyer.Status",
        "InvoiceStatusEnum": "buyers.models.Invoice.Status",
        "DisputeStatusEnum": "buyers.models.Dispute.Status",
        "PaymentPlanStatusEnum": "buyers.models.PaymentPlan.Status",
        "InvoiceMarkEnum": [("disputed", "Disputed"), ("written_off", "Written off")],
        "AlertRuleKindEnum": "monitoring.models.AlertRule.Kind",
        "AlertStatusEnum": "monitoring.models.Alert.Status",
        "AlertSeverityEnum": "monitoring.models.Alert.Severity",
        "WebhookDeliveryStatusEnum": "monitoring.models.WebhookDelivery.Status",
        "WebhookEventTypeEnum": "monitoring.webhooks.EVENT_TYPES",
        "ThresholdTypeEnum": ["int", "decimal", "int_list", "choice_list"],
        "LimitRequestStatusEnum": "policies.models.LimitRequest.Status",
        "CreditLimitStatusEnum": "policies.models.CreditLimit.Status",
        "CoverDecisionKindEnum": "policies.models.CoverDecision.Kind",
        "PolicyBuyerKindEnum": "policies.models.PolicyBuyer.Kind",
        "CoverKindEnum": "policies.models.CoverKind",
        "PremiumBasisEnum": "policies.models.PremiumBasis",
        "InsurerCoverStatusEnum": "policies.models.InsurerCover.Status",
        "LimitDecisionEnum": "policies.models.LimitDecision.Kind",
        "CreditCheckDecisionEnum": ["approve", "hold"],
        "LegalEventKindEnum": "monitoring.models.LegalEvent.Kind",
        "ReportKindEnum": "portfolio.models.Report.Kind",
        "ScoreTriggerEnum": "monitoring.models.BuyerScore.Trigger",
        "RescoreRunStatusEnum": "monitoring.models.RescoreRun.Status",
        "CountryRiskChangeEnum": ["downgrade", "upgrade"],
        "ClaimStatusEnum": "claims.models.Claim.Status",
        "CoveredRiskEnum": "policies.models.CoveredRisk",
        "RecoverySourceEnum": "claims.models.Recovery.Source",
        "SourceEnum": "policies.models.LimitRequest.Source",
        "ClaimDecisionEnum": ["approved", "partially_approved", "rejected"],
    },
}

# --- Security defaults (tightened in production.py) -----------------------------------------
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
SECURE_REFERRER_POLICY = "same-origin"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
