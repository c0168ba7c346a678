#!/usr/bin/env bash
# `npm run demo`: set up what is missing, then start Redis, the leaky example worker with the agent,
# its producer and code-server with Worker Lens installed; prints the URL. Ctrl-C stops everything.
set -euo pipefail
cd "$(dirname "$0")/.."
tools=$(bash scripts/setup.sh --print-env) || exit 1   # setup.sh has said what is missing
eval "$tools"
export CODE_SERVER NODE24_BIN
exec node scripts/demo.js "$@"
