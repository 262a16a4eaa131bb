"""SLO recommendation engine: a pure-Python domain core.

The core never imports AWS SDKs or database drivers; those live in ``adapters/``.
Local defaults for every port live in ``embedded/``.
"""

__version__ = "0.1.0"
