"""Learned location encoders (SatCLIP, GeoCLIP, CSP, MOSAIKS). Importing this package
registers them; torch and weights load only when an encoder is built."""
from .satclip import register  # noqa: F401
from . import geoclip, mosaiks  # noqa: F401
from . import csp  # noqa: F401
