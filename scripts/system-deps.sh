#!/usr/bin/env bash
# System packages some tests use: Debian's docker-compose (validates docker-compose.yml offline) and
# Debian's chromium (the explorer page's browser tests drive it with Playwright; Playwright's own
# browser download cannot work here), and a Java 17+ runtime and Maven for the local Neo4j (`make neo4j`).
# Installed only where apt-get can run as root; elsewhere the tests that need it skip and say why.
set -euo pipefail
need=()
command -v docker-compose >/dev/null 2>&1 || docker compose version >/dev/null 2>&1 || need+=(docker-compose)
command -v chromium >/dev/null 2>&1 || need+=(chromium)  # the tests look it up on PATH
command -v java >/dev/null 2>&1 || need+=(default-jre-headless)  # Neo4j 5.26 needs Java 17+
command -v mvn >/dev/null 2>&1 || need+=(maven)  # fetches the Neo4j jars from Maven Central
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "system-deps: not root or no apt-get; not installing: ${need[*]} (the tests that need them will skip)" >&2
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null || { echo "system-deps: apt-get update failed; skipping ${need[*]}" >&2; exit 0; }
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null \
  || echo "system-deps: could not install ${need[*]}; the tests that need them will skip" >&2
