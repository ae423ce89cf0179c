"""Graph stores: one interface (``base.GraphStore``), its backends, and ``open_store``.

Everything above this package (loader, queries, API) talks to ``GraphStore`` only, so the same
Cypher runs on the embedded FalkorDB, an external FalkorDB, or Neo4j 5. The backends import
``base`` and ``errors``; nothing here imports a backend until a URI names it, so a Neo4j user
never loads the FalkorDB client and the other way round.

=================  =============================================  ====================
module             what it is                                     imports
=================  =============================================  ====================
``base``           the ``GraphStore`` protocol, shared helpers     nothing of pmlkg
``errors``         the failures every caller handles               nothing
``embedded``       the FalkorDB server process the project runs    errors
``falkordb``       FalkorDB over its unix socket or TCP            base, errors, embedded
``neo4j``          Neo4j 5 over Bolt                               base, errors
=================  =============================================  ====================
"""

from __future__ import annotations

import importlib
from pathlib import Path

from pmlkg.graph.stores.base import GraphStore

__all__ = ["GraphStore", "OPENERS", "open_store", "scheme_of"]

# URI scheme -> "module:function" that opens it; each opener takes (uri, data_dir, graph_name, start).
OPENERS: dict[str, str] = {
    "falkordb:embedded": "pmlkg.graph.stores.falkordb:open_embedded",
    "falkordb": "pmlkg.graph.stores.falkordb:open_tcp",
    **{scheme: "pmlkg.graph.stores.neo4j:open_neo4j"
       for scheme in ("neo4j", "neo4j+s", "neo4j+ssc", "bolt", "bolt+s", "bolt+ssc")},
}
SUPPORTED = "falkordb: | falkordb:embedded | falkordb://host:port | neo4j:// | neo4j+s:// | bolt:// | bolt+s://"


def scheme_of(uri: str) -> str:
    """The key of ``OPENERS`` a URI selects: ``falkordb:``, ``falkordb:embedded`` -> the embedded store."""
    uri = uri.strip()
    if uri in ("falkordb:", "falkordb:embedded"):
        return "falkordb:embedded"
    return uri.split("://", 1)[0].lower() if "://" in uri else ""


def open_store(uri: str, data_dir: Path, *, graph_name: str = "pmlkg", start: bool = True) -> GraphStore:
    """Connect to the store named by ``uri``.

    ``falkordb:`` / ``falkordb:embedded`` use the embedded server under ``data_dir/falkordb``,
    starting it when ``start`` (else ``StoreUnavailable`` if it is not running). ``graph_name``
    selects the FalkorDB graph; Neo4j takes its database from the URI path or ``NEO4J_DATABASE``.
    """
    target = OPENERS.get(scheme_of(uri))
    if target is None:
        raise ValueError(f"unsupported graph store URI {uri!r}: use one of {SUPPORTED}")
    module, _, function = target.partition(":")
    opener = getattr(importlib.import_module(module), function)
    store: GraphStore = opener(uri.strip(), Path(data_dir), graph_name=graph_name, start=start)
    return store
