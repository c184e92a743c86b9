FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
RUN apt-get update && apt-get install -y --no-install-recommends gettext && rm -rf /var/lib/apt/lists/*
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
