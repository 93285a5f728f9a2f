import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
application = get_wsgi_application()

# Production and staging refuse to serve with an unsafe configuration: gunicorn's worker
# fails to boot with every failing check named (core/checks.py).
from core.checks import startup_checks_run  # noqa: E402

startup_checks_run()
