"""Graph model v0: node labels, their stable keys, and the indexes both backends create.

Keys are what MERGE matches on, so a re-run converges to the same graph. Without an index on
the MERGE key FalkorDB loads quadratically (measured: 474 rels/s at 20k rows), so every key is
indexed (unique where the backend supports it).
"""

from __future__ import annotations

from dataclasses import dataclass

from graph.store import GraphStore


@dataclass(frozen=True, slots=True)
class NodeType:
    label: str
    key: str
    indexed: tuple[str, ...] = ()  # further properties that lookups filter on


NODES: tuple[NodeType, ...] = (
    NodeType("Article", "pmid", ("year",)),
    NodeType("Patient", "id", ("pmid",)),
    NodeType("Defect", "id", ("name_lower",)),
    NodeType("Gene", "symbol", ("ncbi_gene_id",)),
    NodeType("Drug", "name", ("drugbank_id",)),
    NodeType("Outcome", "id"),
)
RELATIONSHIPS: dict[str, tuple[str, str]] = {
    "REPORTS": ("Article", "Patient"),
    "HAS_DEFECT": ("Patient", "Defect"),
    "CAUSED_BY": ("Defect", "Gene"),
    "RECEIVED": ("Patient", "Drug"),  # role: exposure | treatment | other; negated flag
    "HAD_OUTCOME": ("Patient", "Outcome"),
    "MENTIONS": ("Article", "Gene|Drug|Defect"),
}
OUTCOMES = {"died": "Died", "survived": "Survived", "iris": "Immune reconstitution inflammatory syndrome"}


def create_schema(store: GraphStore) -> None:
    """Idempotent: unique constraints on Neo4j, exact-match indexes on FalkorDB.

    FalkorDB 4.16.3 can segfault replaying its append-only file when a unique constraint
    exists (FalkorDB issue #1642), and then on every start; MERGE on the indexed key already
    keeps keys unique there, so the embedded store gets the index alone.
    """
    for node in NODES:
        if store.backend == "neo4j":
            store.create_unique(node.label, node.key)
        else:
            store.create_index(node.label, node.key)
        for prop in node.indexed:
            store.create_index(node.label, prop)
