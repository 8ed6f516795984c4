import gc
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "helpline.settings")

application = get_wsgi_application()

# Objects made at start-up live as long as the process: keep them out of the
# garbage collector's full passes, which otherwise stall a request now and then.
gc.freeze()
