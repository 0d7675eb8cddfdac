#!/usr/bin/env bash
# Make sure the machine has what imgpipe's local stack needs: Python venv support, Java 17+
# (to run Kafka), Maven (to resolve Kafka's jars), Go (to build FerretDB when no MongoDB is
# given) and Chromium (the browser the web page's test drives, through Playwright, which is told
# to use this one rather than download its own). Missing Debian packages are installed with
# apt-get when we are root.
set -euo pipefail

missing=()
python3 -c 'import ensurepip, venv' 2>/dev/null || missing+=(python3-venv)
command -v java >/dev/null || missing+=(openjdk-17-jre-headless)
command -v mvn >/dev/null || missing+=(maven)
command -v curl >/dev/null || missing+=(curl)
command -v chromium >/dev/null || missing+=(chromium)
if [ -z "${MONGODB_URL:-}" ] && ! command -v mongod >/dev/null && ! command -v go >/dev/null; then
  missing+=(golang-go)
fi

if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "imgpipe needs these packages: ${missing[*]} (run: sudo apt-get install ${missing[*]})" >&2
    exit 1
  fi
  echo "installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

java_major=$(java -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -n 1)
if [ "${java_major:-0}" -lt 17 ]; then
  echo "Kafka 4 needs Java 17 or newer; found ${java_major:-none}" >&2
  exit 1
fi
