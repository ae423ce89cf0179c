#!/usr/bin/env bash
# Copy the explorer page's third-party library from node_modules (pinned by package-lock.json)
# into api/static/vendor/, with its licence. The copies are committed, so the page runs offline and
# no build step is needed; tests/test_explorer_assets.py checks they match the pinned package.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/node-deps.sh
src=node_modules/cytoscape
[ -d "$src" ] || { echo "vendor-web: $src is missing (node-deps.sh could not install it: see above)" >&2; exit 1; }
dst=api/static/vendor/cytoscape
mkdir -p "$dst"
cp "$src/dist/cytoscape.min.js" "$dst/cytoscape.min.js"
cp "$src/LICENSE" "$dst/LICENSE"
node -e "console.log(require('./$src/package.json').version)" > "$dst/VERSION"
echo "vendored cytoscape $(cat $dst/VERSION) into $dst"
