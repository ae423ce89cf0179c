// Saved queries for Neo4j Browser over the pmlkg graph (model: graph/schema.yaml).
// Format: each query starts with a `// name: ...` line and a one-line `// ...` description,
// and a line holding only `;` ends it. graph/neo4j/build_guide.py turns this file into
// guide.html, and tests/test_cypher_lint.py lints every query with Neo4j's Cypher front end.
// Values are literals (Browser runs a saved query as is); edit them in the editor.
// Counts are of reported cases, not incidence. Assertions the text denies are stored with
// negated = true, so every query that counts filters them out.

// name: Drugs before PML, by immune defect
// Drugs received before PML (role exposure, not negated) in each immune defect: reported cases and deaths.
MATCH (x:Disease)<-[h:HAS_DISEASE]-(c:Case)-[r:RECEIVED]->(d:Drug)
WHERE r.role = 'exposure' AND r.negated = false AND h.negated = false
RETURN x.name AS defect, d.display AS drug,
       count(DISTINCT c) AS cases,
       count(DISTINCT CASE WHEN c.outcome = 'died' THEN c END) AS deaths
ORDER BY cases DESC, deaths DESC, defect, drug
;

// name: Rituximab exposure, with evidence
// Every case exposed to rituximab before PML, with the sentence and article that say so.
MATCH (c:Case)-[r:RECEIVED]->(d:Drug {name: 'rituximab'})
WHERE r.role = 'exposure' AND r.negated = false
OPTIONAL MATCH (c)-[h:HAS_DISEASE]->(x:Disease)
WHERE h.negated = false
RETURN c.id AS case_id, r.pmid AS pmid, collect(DISTINCT x.name) AS defects, c.outcome AS outcome,
       r.hedged AS hedged, r.sentence AS sentence
ORDER BY pmid, case_id
;

// name: One case and its evidence
// A case with all its edges and neighbours, and the Evidence sentences that support it (shown as a graph).
MATCH (c:Case {id: '90000001:0'})
OPTIONAL MATCH (c)-[r]-(n)
WHERE NOT n:Evidence
WITH c, collect(r) AS edges, collect(n) AS neighbours
OPTIONAL MATCH (e:Evidence)-[s:SUPPORTS]->(c)
RETURN c, edges, neighbours, collect(e) AS evidence, collect(s) AS supports
;

// name: A gene's neighbourhood
// CD40LG with the diseases it causes, the cases that carry it and the publications around them (two hops).
MATCH p = (g:Gene {symbol: 'CD40LG'})-[*1..2]-(n)
WHERE n:Disease OR n:Case OR n:Publication
RETURN p
LIMIT 100
;

// name: Deaths by defect category
// Reported cases and deaths per IUIS category of the immune defect (positive HAS_DISEASE only).
MATCH (c:Case)-[h:HAS_DISEASE]->(x:Disease)
WHERE h.negated = false
WITH coalesce(x.iuis_category, 'not classified') AS category, c
RETURN category, count(DISTINCT c) AS cases,
       count(DISTINCT CASE WHEN c.outcome = 'died' THEN c END) AS deaths,
       count(DISTINCT CASE WHEN c.outcome = 'survived' THEN c END) AS survived
ORDER BY deaths DESC, cases DESC, category
;

// name: Negated assertions
// What the text denies (negated = true): stored for the record, left out of every count above.
MATCH (c:Case)-[r]->(n)
WHERE r.negated = true
RETURN c.id AS case_id, type(r) AS relationship, labels(n)[0] AS label,
       coalesce(n.display, n.name, n.symbol, n.id) AS target, r.sentence AS sentence
ORDER BY case_id, relationship
LIMIT 100
;

// name: Schema overview
// The labels and relationship types actually present, as Neo4j sees them (Neo4j only; FalkorDB lacks it).
CALL db.schema.visualization()
;
