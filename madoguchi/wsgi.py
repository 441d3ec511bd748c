"""The WSGI application `madoguchi serve` (gunicorn) runs, one per worker process."""

import os

from django.core.wsgi import get_wsgi_application
from django.urls import get_resolver

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "madoguchi.settings")
application = get_wsgi_application()
# Import every view now, as the worker starts, not on its first request: importing the console
# (openpyxl and all) takes about a second, and the first requests of a burst of webhooks would
# wait for it in every worker.
_views = get_resolver().url_patterns
