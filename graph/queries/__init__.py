"""The read-only Cypher catalogue, one module per topic (see ``catalogue.py``).

Importing this package registers every query in :data:`CATALOGUE`; nothing outside ``graph/``
writes Cypher, and the API calls the functions of these modules only.
"""

from pmlkg.graph.queries import associations, cases, entities, export, neighborhood, search, status, survival  # noqa: F401
from pmlkg.graph.queries.catalogue import CATALOGUE, Query, props, run

__all__ = ["CATALOGUE", "Query", "props", "run", "associations", "cases", "entities", "export", "neighborhood",
           "search", "status", "survival"]
