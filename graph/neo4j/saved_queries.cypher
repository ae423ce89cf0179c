// Saved queries for Neo4j Browser over the pmlkg graph (model: pmlkg/schema.yaml).
// Format: each query starts with a `// name: ...` line and a one-line `// ...` description,
// and a line holding only `;` ends it. graph/neo4j/build_guide.py turns this file into
// guide.html, and tests/test_cypher_lint.py lints every query with Neo4j's Cypher front end.
// Values are literals (Browser runs a saved query as is); edit them in the editor.
// Counts are of reported cases, not incidence. Assertions the text denies are stored with
// negated = true, so every query that counts filters them out.

// name: Drugs before PML, by immune defect
// Drugs received before PML (role exposure, not negated) in each immune defect: reported patients and deaths, counted as graph/queries/counting.py counts them.
MATCH (x:Disease)<-[h:HAS_DISEASE]-(c:Case)-[r:RECEIVED]->(d:Drug)
WHERE r.role = 'exposure' AND r.negated = false AND h.negated = false AND (c.cohort_size = 1 OR c.n_diseases = 1)
WITH x, d, c, CASE WHEN c.cohort_size > 1 THEN coalesce(r.n_patients, 1) ELSE 1 END AS given
RETURN x.name AS defect, d.display AS drug, count(c) AS cases, sum(given) AS patients,
       sum(CASE WHEN c.cohort_size = 1 THEN (CASE WHEN c.outcome = 'died' THEN 1 ELSE 0 END) WHEN c.deaths IS NULL THEN 0 WHEN given >= c.cohort_size THEN c.deaths WHEN c.deaths >= c.cohort_size THEN given ELSE 0 END) AS deaths,
       sum(CASE WHEN c.cohort_size = 1 THEN (CASE WHEN c.outcome = 'survived' THEN 1 ELSE 0 END) WHEN c.survivors IS NULL THEN 0 WHEN given >= c.cohort_size THEN c.survivors WHEN c.survivors >= c.cohort_size THEN given ELSE 0 END) AS survivors
ORDER BY patients DESC, deaths DESC, defect, drug
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
// Reported patients, deaths and survivors per IUIS category of the immune defect (positive HAS_DISEASE only; a series counts its stated totals, a mixed-defect series not at all).
MATCH (c:Case)-[h:HAS_DISEASE]->(x:Disease)
WHERE h.negated = false AND (c.cohort_size = 1 OR c.n_diseases = 1)
WITH DISTINCT coalesce(x.iuis_category, 'not classified') AS category, c
RETURN category, count(c) AS cases, sum(c.cohort_size) AS patients,
       sum(CASE WHEN c.cohort_size > 1 THEN coalesce(c.deaths, 0) WHEN c.outcome = 'died' THEN 1 ELSE 0 END) AS deaths,
       sum(CASE WHEN c.cohort_size > 1 THEN coalesce(c.survivors, 0) WHEN c.outcome = 'survived' THEN 1 ELSE 0 END) AS survivors
ORDER BY deaths DESC, patients DESC, category
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
