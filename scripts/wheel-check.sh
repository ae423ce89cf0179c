#!/usr/bin/env bash
# The wheel as a user gets it: built with `python -m build`, installed into a fresh venv outside the
# checkout, run from an empty directory. Proves the package finds its models, lexicons, schema and
# static files as package data, installs no top-level name but `pmlkg`, and that `spacy.load` on the
# shipped pipeline works without importing pmlkg first (spacy_factories entry points).
# Usage: scripts/wheel-check.sh [python of the dev venv]   (called by .ci/run after `make test`)
set -euo pipefail
cd "$(dirname "$0")/.."
DEV_PY=${1:-.venv/bin/python}
WORK=$(mktemp -d /tmp/pmlkg-wheel.XXXXXX)
SERVER=""
cleanup() {
  [ -n "$SERVER" ] && kill "$SERVER" 2>/dev/null || true
  [ -x "$WORK/venv/bin/pmlkg" ] && (cd "$WORK/empty" && "$WORK/venv/bin/pmlkg" db stop --data-dir "$WORK/data" >/dev/null 2>&1) || true
  rm -rf "$WORK"
}
trap cleanup EXIT
step() { echo "wheel-check: $*"; }
fail() { echo "wheel-check: FAILED: $*" >&2; exit 1; }

step "building the wheel"
rm -rf build  # setuptools reuses build/lib: a module deleted from the tree would still ship
"$DEV_PY" -m build --wheel --outdir "$WORK/dist" . >"$WORK/build.log" 2>&1 || { tail -30 "$WORK/build.log"; fail "python -m build"; }
WHEEL=$(ls "$WORK"/dist/pmlkg-*.whl)
step "$(basename "$WHEEL"), $(du -h "$WHEEL" | cut -f1)"

step "top-level names in the wheel"
TOP=$("$DEV_PY" - "$WHEEL" <<'EOF'
import sys, zipfile
names = {n.split("/")[0] for n in zipfile.ZipFile(sys.argv[1]).namelist()}
print(" ".join(sorted(n for n in names if not n.endswith(".dist-info"))))
EOF
)
[ "$TOP" = "pmlkg" ] || fail "the wheel installs top-level names other than pmlkg: $TOP"

step "installing it into a fresh venv"
"$DEV_PY" -m venv "$WORK/venv"
"$WORK/venv/bin/python" -m pip install --quiet --upgrade pip >/dev/null
"$WORK/venv/bin/python" -m pip install --quiet "$WHEEL" >"$WORK/pip.log" 2>&1 || { tail -30 "$WORK/pip.log"; fail "pip install"; }

mkdir -p "$WORK/empty"
cd "$WORK/empty"
PY="$WORK/venv/bin/python"
PMLKG="$WORK/venv/bin/pmlkg"

for name in api graph ingest extraction nlp_models; do
  if "$PY" -c "import $name" 2>/dev/null; then fail "'import $name' works: the wheel leaks a top-level package"; fi
done
step "import api/graph/ingest/extraction/nlp_models all fail, as they should"

"$PY" - <<'EOF' || fail "spacy.load without importing pmlkg"
import importlib.util, sys, spacy
spec = importlib.util.find_spec("pmlkg")
path = __import__("pathlib").Path(spec.submodule_search_locations[0]) / "nlp_models" / "pmlkg_extract"
assert "pmlkg" not in sys.modules
nlp = spacy.load(path)
doc = nlp("A 45-year-old man with GATA2 deficiency developed PML after rituximab.")
print("wheel-check: spacy.load alone:", [(e.text, e.label_) for e in doc.ents])
EOF

printf 'PML after rituximab in GATA2 deficiency\n\nA 45-year-old man with GATA2 deficiency developed progressive multifocal leukoencephalopathy after rituximab and died.\n' > case.txt
"$PMLKG" extract --text case.txt > extract.json || fail "pmlkg extract"
"$PY" - <<'EOF' || fail "pmlkg extract output"
import json
out = json.load(open("extract.json"))
ents = {(e["label"], e["id"]) for e in out["entities"]}
assert ("DEFECT", "iuis:gata2-deficiency") in ents and ("DRUG", "rituximab") in ents, ents
assert len(out["patients"]) == 1 and out["patients"][0]["outcome"] == "died", out["patients"]
print("wheel-check: pmlkg extract:", len(out["entities"]), "entities,", len(out["patients"]), "patient(s)")
EOF

"$PMLKG" build --data-dir "$WORK/data" --json > build.json || fail "pmlkg build"
ARTICLES=$("$PY" -c "import json; print(json.load(open('build.json'))['articles'])")
[ "$ARTICLES" -gt 0 ] || fail "pmlkg build loaded no articles"
step "pmlkg build: $ARTICLES demo articles loaded"

PORT=$("$PY" -c "import socket; s=socket.socket(); s.bind(('127.0.0.1',0)); print(s.getsockname()[1])")
"$PMLKG" serve --data-dir "$WORK/data" --port "$PORT" > serve.log 2>&1 &
SERVER=$!
for _ in $(seq 1 60); do
  curl -fsS "http://127.0.0.1:$PORT/health" >/dev/null 2>&1 && break
  kill -0 "$SERVER" 2>/dev/null || { cat serve.log; fail "pmlkg serve exited"; }
  sleep 1
done
curl -fsS "http://127.0.0.1:$PORT/stats" > stats.json || { cat serve.log; fail "GET /stats"; }
curl -fsS "http://127.0.0.1:$PORT/" > index.html || fail "GET / (the explorer page, package data)"
curl -fsS "http://127.0.0.1:$PORT/neo4j/guide.html" > guide.html || fail "GET /neo4j/guide.html (graph.neo4j package data)"
"$PY" - "$ARTICLES" <<'EOF' || fail "/stats"
import json, sys
stats = json.load(open("stats.json"))
assert stats["nodes"]["Publication"] == int(sys.argv[1]), stats
print("wheel-check: pmlkg serve: /stats", stats["nodes"])
EOF
grep -q "<html" index.html || fail "the explorer page is not HTML"
step "passed"
