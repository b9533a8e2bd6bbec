import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "minsheng.settings")
application = get_wsgi_application()

# Partners' work-order pushes are answered beside Django's middleware (see the module).
from minsheng.intake.fastpath import PushFastPath  # noqa: E402

application = PushFastPath(application)

# Each web worker loads the text tables before its first request, not during it.
from minsheng.core.warm import warm  # noqa: E402

warm()
