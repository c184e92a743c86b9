FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
RUN apt-get update && apt-get install -y --no-install-recommends gettext && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY pyproject.toml ./
COPY . .
RUN pip install --no-cache-dir . && useradd --create-home edc && mkdir -p var && chown -R edc var
USER edc
EXPOSE 8000
# Threaded gunicorn sized by edc/gunicorn.conf.py (README, "Serving load"); GUNICORN_* to change it.
CMD ["gunicorn", "-c", "edc/gunicorn.conf.py", "edc.wsgi:application"]
