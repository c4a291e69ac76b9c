# syntax=docker/dockerfile:1
# One image for every process: web (the default CMD), worker and beat differ only in their command.
#   docker build -t ghcr.io/<owner>/scrumboard:<git sha> .
#
# Base images are pinned to an exact patch tag. Pinning by digest as well (python:3.11.11-slim-bookworm@sha256:...)
# is better still; the digest is filled in where a registry is reachable (`docker buildx imagetools inspect`).

# --- builder: dependencies into a venv, translations compiled, static files collected --------------------------
FROM python:3.11.11-slim-bookworm AS builder

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH

# msgfmt for compilemessages; only in this stage.
RUN apt-get update \
    && apt-get install -y --no-install-recommends gettext=0.21-12 \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app

# Dependencies first, read from pyproject.toml alone, so a code change reuses this layer.
COPY pyproject.toml ./
RUN python -m venv /opt/venv \
    && python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
        > /tmp/requirements.txt \
    && pip install --no-cache-dir -r /tmp/requirements.txt

COPY . .
# The project itself, editable: the venv points at /app, so settings keep BASE_DIR=/app (templates, locale, var/).
# SECRET_KEY here is build-only (collectstatic and compilemessages sign nothing); it is never part of the image's
# environment. Without it settings would write a generated key into var/ and ship it.
RUN pip install --no-cache-dir --no-deps -e . \
    && export SECRET_KEY=build-only \
    && python manage.py compilemessages --ignore=var \
    && python manage.py collectstatic --noinput \
    && find var -mindepth 1 -maxdepth 1 ! -name static -exec rm -rf {} + \
    && python -m compileall -q -x '/(var|tests)/' /app

# --- runtime ----------------------------------------------------------------------------------------------------
FROM python:3.11.11-slim-bookworm

ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PROMETHEUS_MULTIPROC_DIR=/tmp/prometheus

# psycopg2-binary bundles libpq, so the slim base needs no extra system packages.
RUN groupadd --system --gid 10001 scrumboard \
    && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin scrumboard \
    && install -d -o 10001 -g 10001 -m 0700 /tmp/prometheus

COPY --from=builder /opt/venv /opt/venv
# Code and collected static files stay owned by root: the app user can read them, not change them.
COPY --from=builder /app /app

# The commit the image is built from (docker build --build-arg GIT_SHA=$(git rev-parse HEAD)): Sentry's release.
ARG GIT_SHA=""
ENV GIT_SHA=${GIT_SHA}
LABEL org.opencontainers.image.title="scrumboard" \
      org.opencontainers.image.revision="${GIT_SHA}"

WORKDIR /app
USER 10001:10001
EXPOSE 8000

# Liveness only (/healthz); readiness (/readyz) belongs to the orchestrator. Worker and beat override this.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4).status != 200)"]

CMD ["gunicorn", "scrumboard.wsgi", "-c", "gunicorn.conf.py"]
