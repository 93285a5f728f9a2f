"""Settings for bench/pages.py only: the shop's own settings plus a bare view's address.

Never used by the shop itself (its URLs do not carry the bare view).
"""

from config.settings import *  # noqa: F403

ROOT_URLCONF = "bench.pages_urls"
