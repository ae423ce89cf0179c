"""Each backend's indexes and constraints on the model's keys (pmlkg/schema.yaml).

Keys are what MERGE matches on, so a re-run converges to the same graph. Without an index on the
MERGE key FalkorDB loads quadratically (measured: 474 rels/s at 20k rows), so every key is indexed.
"""

from __future__ import annotations

from pmlkg.graph.stores import GraphStore
from pmlkg.schema import SCHEMA


def create_schema(store: GraphStore) -> None:
    """Idempotent: unique constraints on Neo4j, exact-match indexes on FalkorDB.

    FalkorDB 4.16.3 can segfault replaying its append-only file when a unique constraint
    exists (FalkorDB issue #1642), and then on every start; MERGE on the indexed key already
    keeps keys unique there, so the embedded store gets the index alone.
    """
    for node in SCHEMA.nodes.values():
        if store.backend == "neo4j":
            store.create_unique(node.label, node.key)
        else:
            store.create_index(node.label, node.key)
        for prop in node.indexed:
            store.create_index(node.label, prop)
