# Keystore's production image: runtime dependencies only (requirements.lock; the test
# tools live in requirements-dev.lock), a non-root user, and static files collected in
# production mode (hashed names + the manifest WhiteNoise serves) at build time.
# Build: docker compose build   (or: docker build -t keystore .)

# --- build: a virtualenv with the runtime lock ---------------------------------------
FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /venv
COPY requirements.lock /tmp/requirements.lock
RUN /venv/bin/pip install -r /tmp/requirements.lock

# --- runtime ---------------------------------------------------------------------------
FROM python:3.11-slim AS runtime
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PATH=/venv/bin:$PATH \
    KEYSTORE_ENV=production
RUN useradd --system --create-home --uid 10001 --user-group keystore
WORKDIR /app
COPY --from=build /venv /venv
COPY . .
# Production-mode collectstatic with throwaway secrets that exist only in this RUN step
# (KEYSTORE_BUILD_STATIC is refused by every other command; see config/settings.py).
RUN KEYSTORE_ENV=production KEYSTORE_BUILD_STATIC=1 python manage.py collectstatic --noinput
RUN mkdir -p /app/var/private /app/var/media && chown -R keystore:keystore /app/var
USER keystore
EXPOSE 8000
# The web service's command in docker-compose.yml runs `check --deploy` first.
CMD ["gunicorn", "config.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", "--worker-class", "gthread", "--threads", "4", "--access-logfile", "-"]
