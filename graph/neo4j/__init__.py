"""Assets for Neo4j Browser: the pmlkg guide, its saved queries and the .grass style (served by the API)."""
