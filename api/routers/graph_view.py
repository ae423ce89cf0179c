"""A node's neighbourhood as nodes and edges, for graph views (the explorer page, other tools)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from pmlkg.api.deps import Store
from pmlkg.api.errors import InvalidParameter, NotFound
from pmlkg.api.models import ErrorResponse, GraphEdge, GraphNode, GraphView
from pmlkg.graph.queries.neighborhood import neighbourhood, parse_node_id
from pmlkg.schema import SCHEMA

router = APIRouter(tags=["graph"], responses={404: {"model": ErrorResponse}, 422: {"model": ErrorResponse},
                                              503: {"model": ErrorResponse}})


@router.get("/graph/neighborhood", response_model=GraphView)
def get_neighborhood(store: Store,
                     id: Annotated[str, Query(min_length=3, max_length=320, description=(
                         "<Label>:<key>, e.g. Gene:CD40LG, Case:90000001:0, Publication:90000001, "
                         "Disease:iuis:cd40-ligand-deficiency (the ids /search returns)"))],
                     depth: Annotated[int, Query(ge=1, le=3)] = 1,
                     max_nodes: Annotated[int, Query(ge=1, le=1000)] = 150) -> GraphView:
    """Nodes within ``depth`` hops, capped at ``max_nodes`` (the response says when it was capped)."""
    if parse_node_id(id) is None:
        raise InvalidParameter("id", "unknown label or no key",
                               f"id must be <Label>:<key> with a label of {sorted(SCHEMA.nodes)}")
    found = neighbourhood(store, id, depth, max_nodes)
    if found is None:
        raise NotFound(f"no node {id} in the graph")
    note = (f"capped at {max_nodes} nodes: the neighbourhood is larger; ask for less depth or a higher max_nodes"
            if found.truncated else None)
    return GraphView(center=id, depth=depth, nodes=[GraphNode.model_validate(n) for n in found.nodes.values()],
                     edges=[GraphEdge.model_validate(e) for e in found.edges.values()], truncated=found.truncated,
                     note=note)
