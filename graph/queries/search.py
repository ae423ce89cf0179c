"""Search over names, synonyms and ids of genes, drugs, drug classes, defects and articles."""

from __future__ import annotations

from typing import Any

from pmlkg.graph.queries.catalogue import query, run
from pmlkg.graph.stores import GraphStore

_RANK = "CASE WHEN t = $q THEN 0 WHEN t STARTS WITH $q THEN 1 WHEN any(s IN syn WHERE s = $q) THEN 1 ELSE 2 END"
SEARCH = query("search", f"""
MATCH (n:Gene)
WITH n, toLower(n.symbol) AS t, coalesce(n.synonyms, []) AS syn
WHERE t CONTAINS $q OR toLower(coalesce(n.name, '')) CONTAINS $q OR any(s IN syn WHERE s CONTAINS $q)
   OR toString(n.ncbi_gene_id) = $q OR toLower(coalesce(n.hgnc_id, '')) = $q
RETURN 'Gene' AS label, n.symbol AS key, n.symbol AS name, n.name AS detail, {_RANK} AS rank
UNION ALL
MATCH (n:Drug)
WITH n, n.name AS t, coalesce(n.synonyms, []) AS syn
WHERE t CONTAINS $q OR any(s IN syn WHERE s CONTAINS $q)
   OR toLower(coalesce(n.drugbank_id, '')) = $q OR toLower(coalesce(n.mesh_id, '')) = $q
RETURN 'Drug' AS label, n.name AS key, n.display AS name, n.drugbank_id AS detail, {_RANK} AS rank
UNION ALL
MATCH (n:DrugClass)
WITH n, toLower(n.name) AS t, coalesce(n.synonyms, []) AS syn
WHERE t CONTAINS $q OR n.id CONTAINS $q OR any(s IN syn WHERE s CONTAINS $q)
RETURN 'DrugClass' AS label, n.id AS key, n.name AS name, n.atc AS detail, {_RANK} AS rank
UNION ALL
MATCH (n:Disease)
WITH n, n.name_lower AS t, coalesce(n.synonyms, []) AS syn
WHERE t CONTAINS $q OR any(s IN syn WHERE s CONTAINS $q) OR toLower(n.id) = $q
   OR any(o IN coalesce(n.omim, []) WHERE o = $q OR 'omim:' + o = $q)
RETURN 'Disease' AS label, n.id AS key, n.name AS name, n.iuis_category AS detail, {_RANK} AS rank
UNION ALL
MATCH (n:Publication)
WITH n, n.pmid AS t, [] AS syn
WHERE t = $q OR toLower(n.title) CONTAINS $q
RETURN 'Publication' AS label, n.pmid AS key, n.title AS name, toString(n.year) AS detail, {_RANK} AS rank
""", q="cd40")


def search(store: GraphStore, text: str, limit: int) -> list[dict[str, Any]]:
    """Best first: exact names and ids, then prefixes, then substrings; PMIDs match exactly."""
    q = " ".join(text.lower().split())
    rows = run(store, SEARCH, q=q)
    rows.sort(key=lambda r: (r["rank"], len(r["name"] or ""), r["label"], r["key"]))
    return [{**r, "id": f"{r['label']}:{r['key']}"} for r in rows[:limit]]
