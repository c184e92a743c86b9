FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
# pg_dump/pg_restore of the database service's major version (16, from PostgreSQL's own Debian
# repository) for `manage.py backup` and `restore` (edc.backup picks the server's version).
ARG POSTGRES_MAJOR=16
# Pango and the Noto CJK fonts for WeasyPrint: the PDF casebooks and CRFs, Chinese included.
RUN apt-get update && apt-get install -y --no-install-recommends gettext ca-certificates curl \
       libpango-1.0-0 libpangoft2-1.0-0 fonts-noto-cjk \
    && install -d /usr/share/postgresql-common/pgdg \
    && curl -fsSL -o /usr/share/postgresql-common/pgdg/apt.postgresql.org.asc \
       https://www.postgresql.org/media/keys/ACCC4CF8.asc \
    && . /etc/os-release \
    && echo "deb [signed-by=/usr/share/postgresql-common/pgdg/apt.postgresql.org.asc] https://apt.postgresql.org/pub/repos/apt ${VERSION_CODENAME}-pgdg main" \
       > /etc/apt/sources.list.d/pgdg.list \
    && apt-get update && apt-get install -y --no-install-recommends postgresql-client-${POSTGRES_MAJOR} \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY pyproject.toml ./
COPY . .
RUN pip install --no-cache-dir . && useradd --create-home edc && mkdir -p var && chown -R edc var
# Static files are built once, into the image (hashed, compressed; WhiteNoise serves them): every web
# replica starts with the same files and writes nothing. The values below only let the settings load.
RUN DJANGO_SETTINGS_MODULE=edc.settings.production SECRET_KEY=collectstatic-only ALLOWED_HOSTS=build \
    DATABASE_URL=postgres://build@build.invalid/build REDIS_URL=redis://build.invalid:6379/0 \
    python manage.py collectstatic --no-input -v 0
USER edc
EXPOSE 8000
# Threaded gunicorn sized by edc/gunicorn.conf.py (README, "Serving load"); GUNICORN_* to change it.
CMD ["gunicorn", "-c", "edc/gunicorn.conf.py", "edc.wsgi:application"]
