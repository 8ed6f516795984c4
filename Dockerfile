# Production image for the helpline back office.
#
#   docker build -t helpline .
#   docker run --env-file ... helpline [web|worker|beat|migrate|manage ARGS]
#
# One image for every role (see docker/entrypoint.sh); web is the default.
# Only requirements.txt is installed: dev tools (requirements-dev.txt) stay out.
ARG PYTHON_VERSION=3.11
FROM python:${PYTHON_VERSION}-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore \
    DJANGO_SETTINGS_MODULE=helpline.settings \
    DJANGO_ENV=production \
    HELPLINE_VAR_DIR=/app/var \
    GUNICORN_WORKERS=2 \
    GUNICORN_THREADS=4

RUN groupadd --system --gid 10001 app \
 && useradd --system --uid 10001 --gid app --create-home --home-dir /home/app \
        --shell /usr/sbin/nologin app

WORKDIR /app

# Dependencies first, so that code changes do not reinstall them.
COPY requirements.txt ./
RUN pip install --no-cache-dir -r requirements.txt

COPY . .

# Static files are collected into $HELPLINE_VAR_DIR/static (root-owned, read
# only for the app). Production settings insist on a secret key and allowed
# hosts, so throwaway values are given to this command alone; they are not kept
# in the image. The app user may write only $HELPLINE_VAR_DIR itself and
# $HELPLINE_VAR_DIR/beat, the celery beat schedule (a volume in compose).
RUN DJANGO_SECRET_KEY="$(python -c 'import secrets; print(secrets.token_urlsafe(64))')" \
    DJANGO_ALLOWED_HOSTS=build \
    DATABASE_URL=postgres://build@localhost/build \
    CELERY_BROKER_URL=memory:// \
        python manage.py collectstatic --noinput \
 && chown app:app "$HELPLINE_VAR_DIR" \
 && install -d -o app -g app -m 0750 "$HELPLINE_VAR_DIR/beat"

USER 10001:10001

EXPOSE 8000

HEALTHCHECK --interval=30s --timeout=10s --start-period=30s --retries=3 \
    CMD ["/bin/sh", "/app/docker/entrypoint.sh", "healthcheck"]

ENTRYPOINT ["/bin/sh", "/app/docker/entrypoint.sh"]
CMD ["web"]
