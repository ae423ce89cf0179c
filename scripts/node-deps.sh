#!/usr/bin/env bash
# Node packages the tests use: Neo4j's Cypher front end (tests/test_cypher_lint.py), pinned by
# package-lock.json. Runs `npm ci` only when the package is missing or older than the lockfile,
# so repeated `make test` runs cost nothing. Without node/npm, or when npm ci fails (offline),
# it says why and exits 0: the lint tests then skip and give the reason.
set -euo pipefail
cd "$(dirname "$0")/.."
pkg=node_modules/@neo4j-cypher/language-support
vendored=node_modules/cytoscape  # scripts/vendor-web.sh copies it into api/static/vendor
for tool in node npm; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "node-deps: $tool not found; not installing $pkg (the Cypher lint tests will skip)" >&2
    exit 0
  fi
done
if [ -d "$pkg" ] && [ -d "$vendored" ] && ! [ "$pkg" -ot package-lock.json ]; then
  exit 0
fi
# The package declares engines.node >= 24 but works on Node 20 (EBADENGINE is only a warning);
# --engine-strict=false keeps a user's engine-strict setting from turning that into a failure.
if npm ci --no-audit --no-fund --engine-strict=false --loglevel=error; then
  touch "$pkg"  # npm keeps the lockfile's later mtime after `npm install`; mark this install current
else
  echo "node-deps: npm ci failed (offline?); the Cypher lint tests use what node_modules holds, or skip without $pkg" >&2
fi
