"""pmlkg: the composition root (CLI and settings) wiring ingest -> extraction -> graph -> api."""

__version__ = "0.1.0"
