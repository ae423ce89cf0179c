#!/usr/bin/env node
/**
 * Lint Cypher as Neo4j 5 would, offline, so the queries FalkorDB runs are known to run on Neo4j too.
 *
 * Why this exists: the tests run every query against FalkorDB, but Neo4j (production) cannot run
 * here. @neo4j-cypher/language-support ships Neo4j's own Cypher front end compiled to JS, so its
 * verdict is Neo4j's parser and semantic analysis, not an imitation of it.
 *
 * Input (stdin): a JSON array of {"name": str, "cypher": str}.
 * Output (stdout): one JSON line per query, in input order:
 *   {"name": ..., "errors": ["L:C message", ...], "warnings": ["L:C message", ...]}
 * where L:C is the 1-based line and column of the diagnostic's start.
 * Exit status: 0 whenever every query was linted, errors or not (the caller judges); 2 on bad input.
 *
 * Options:
 *   --model FILE  JSON {"labels": [...], "relationshipTypes": [...], "propertyKeys": [...]} of the
 *                 project's graph model. Names outside it are then reported as warnings. Without
 *                 it, label, type and property names are not checked at all.
 *
 * The schema is the package's testData.mockSchema (Neo4j's built-in functions and procedures)
 * with every apoc.* and gds.* entry removed: plugins are not part of plain Neo4j 5 and FalkorDB
 * has neither, so a call to one must be flagged. The mock's movie-domain labels, types, property
 * keys and parameters are replaced (or dropped) because they describe some other graph.
 * "Parameter $x is not defined" is dropped: queries are parameterised, values come at run time.
 * One process lints every query, since loading the module takes over a second.
 */
import { readFileSync } from 'node:fs';
import { isNotParamError, lintCypherQuery, testData } from '@neo4j-cypher/language-support';

const PLUGIN = /^(apoc|gds)\./;

/** Keep only the entries of each Cypher version's map whose name is not a plugin's. */
function withoutPlugins(byVersion) {
  return Object.fromEntries(Object.entries(byVersion ?? {}).map(([version, entries]) => [
    version,
    Object.fromEntries(Object.entries(entries).filter(([name]) => !PLUGIN.test(name))),
  ]));
}

function buildSchema(model) {
  const mock = testData.mockSchema;
  return {
    ...mock,
    functions: withoutPlugins(mock.functions),
    procedures: withoutPlugins(mock.procedures),
    labels: model?.labels,
    relationshipTypes: model?.relationshipTypes,
    propertyKeys: model?.propertyKeys,
    parameters: {},
  };
}

function where(d) {
  return `${d.range.start.line + 1}:${d.range.start.character + 1} ${d.message}`;
}

function lintOne(query, schema) {
  const errors = [];
  const warnings = [];
  try {
    for (const d of lintCypherQuery(query, schema).diagnostics) {
      if (!isNotParamError(d)) continue; // an undeclared $param: fine, values come at run time
      (d.severity === 1 ? errors : warnings).push(where(d));
    }
  } catch (e) {
    errors.push(`1:1 the linter itself failed on this query: ${e?.message ?? e}`);
  }
  return { errors, warnings };
}

function parseArgs(argv) {
  const args = {};
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--model' && i + 1 < argv.length) args.model = argv[++i];
    else throw new Error(`unknown argument ${argv[i]} (usage: cypher_lint.mjs [--model FILE] < queries.json)`);
  }
  return args;
}

function main() {
  let queries;
  let model;
  try {
    const args = parseArgs(process.argv.slice(2));
    model = args.model ? JSON.parse(readFileSync(args.model, 'utf8')) : undefined;
    queries = JSON.parse(readFileSync(0, 'utf8'));
    if (!Array.isArray(queries)) throw new Error('stdin must be a JSON array of {"name", "cypher"}');
  } catch (e) {
    process.stderr.write(`cypher_lint: ${e.message}\n`);
    process.exit(2);
  }
  const schema = buildSchema(model);
  for (const { name, cypher } of queries) {
    const result = typeof cypher === 'string'
      ? lintOne(cypher, schema)
      : { errors: ['1:1 "cypher" is not a string'], warnings: [] };
    process.stdout.write(`${JSON.stringify({ name, ...result })}\n`);
  }
}

main();
