"""Root test configuration.

Its presence puts ``tests/`` on ``sys.path`` (pytest's default "prepend" import mode inserts the
directory of every conftest it loads), so test modules anywhere can import the shared helpers
in ``tests/support/`` as ``from support.tls import TestCA``.
"""
