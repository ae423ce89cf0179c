"""pmlkg: the composition root (CLI, settings and the build job) wiring ingest -> extraction -> graph -> api.

Layers import downwards only (``tests/test_layers.py`` checks it): ``ingest`` imports nothing of
pmlkg; ``extraction`` reads ingest's records; ``graph`` reads both; ``api`` reads graph (and the
build job, to ingest); ``pmlkg.build`` runs ingest -> extraction -> graph; ``pmlkg.cli`` sits on top.
"""

from importlib.metadata import version

__version__ = version("pmlkg")  # one version: pyproject.toml's
