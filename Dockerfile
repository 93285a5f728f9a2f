FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app
RUN apt-get update && apt-get install -y --no-install-recommends gettext && rm -rf /var/lib/apt/lists/*
COPY requirements.lock pyproject.toml ./
RUN pip install -r requirements.lock
COPY . .
RUN KEYSTORE_ENV=development python manage.py collectstatic --noinput \
    && useradd --create-home keystore && mkdir -p /app/var && chown -R keystore /app/var
USER keystore
EXPOSE 8000
CMD ["gunicorn", "storefront.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3"]
