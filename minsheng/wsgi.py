import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "minsheng.settings")
application = get_wsgi_application()

# Each web worker loads the text tables before its first request, not during it.
from minsheng.core.warm import warm  # noqa: E402

warm()
