# One image for every CreditGuard process: web (gunicorn, the default), Celery worker and beat.
# docker-compose.yml runs it with different commands; see README "Production with Docker Compose".
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DJANGO_SETTINGS_MODULE=creditguard.settings.production \
    MEDIA_ROOT=/var/lib/creditguard/media

# WeasyPrint loads Pango and HarfBuzz (and its subsetter, to embed only the glyphs a PDF uses)
# at run time; Noto CJK renders Chinese text in PDFs. `fontconfig` builds the system font cache
# at install, so processes (which cannot write to their home) do not rescan fonts on start.
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz0b libharfbuzz-subset0 \
        fontconfig fonts-noto-cjk \
    && rm -rf /var/lib/apt/lists/*

RUN groupadd --system --gid 10001 creditguard \
    && useradd --system --uid 10001 --gid creditguard --home-dir /app --shell /usr/sbin/nologin creditguard

WORKDIR /app

# requirements.lock is the one pinned set of dependencies (it includes the dev/test extras, which
# cost some image size but keep one lock file for every environment). Every package installs from
# a binary wheel, so no compiler is needed. Installed before the source for layer caching.
COPY requirements.lock ./
RUN pip install -r requirements.lock

# The code stays owned by root: the app user can read it but not change it.
COPY . .

# Production settings refuse to load without these; the values below exist only for this RUN
# line (collectstatic reads settings but opens no database or Redis connection).
RUN SECRET_KEY=collectstatic-build-only \
    DATABASE_URL=postgres://build@127.0.0.1:5432/build \
    REDIS_URL=redis://127.0.0.1:6379/0 \
    ALLOWED_HOSTS=localhost \
    python manage.py collectstatic --noinput \
    && mkdir -p "$MEDIA_ROOT" \
    && chown creditguard:creditguard "$MEDIA_ROOT"

USER creditguard

EXPOSE 8000

CMD ["gunicorn", "creditguard.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", "--access-logfile", "-"]
