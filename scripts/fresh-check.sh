#!/usr/bin/env bash
# Slow check of the newcomer's path (run before closing anything that touches set-up):
#   1. a fresh clone of this repository's HEAD + an empty tools folder → `npm run demo` reaches its
#      URL, the workbench lists the example worker with its agent, Ctrl-C stops every process;
#   2. another fresh clone + another empty tools folder → `npm test` passes.
# `--test-first` runs 2 before 1 (the order must not matter); `--demo-only` / `--test-only` one of them.
# Only committed work is checked (it clones HEAD). Takes 20–30 minutes: two cold code-server builds.
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && git rev-parse --show-toplevel)
work=$(mktemp -d /tmp/workerlens-fresh.XXXXXX)
say() { echo "[fresh-check $(date +%H:%M:%S)] $*"; }
fail() { say "FAILED: $*"; exit 1; }

marker_procs() { grep -lsz "WORKERLENS_DEMO_URL_FILE=$1" /proc/[0-9]*/environ 2>/dev/null | cut -d/ -f3 || true; }

demo_check() {
  local clone=$work/demo tools=$work/tools-demo url_file=$work/demo-url log=$work/demo.log t0=$SECONDS
  git clone -q "$src" "$clone"; mkdir -p "$tools"
  say "npm run demo in $clone (tools: $tools, empty)"
  (cd "$clone" && exec setsid env WORKERLENS_TOOLS_DIR="$tools" WORKERLENS_DEMO_URL_FILE="$url_file" npm run demo >"$log" 2>&1 < /dev/null) &
  local pid=$!
  while [ ! -s "$url_file" ]; do
    kill -0 "$pid" 2>/dev/null || { tail -n 30 "$log"; fail "npm run demo exited before printing its URL (log: $log)"; }
    [ $((SECONDS - t0)) -lt 1800 ] || { kill -INT -- "-$pid" 2>/dev/null; fail "no URL after 30 minutes (log: $log)"; }
    sleep 2
  done
  local url; url=$(cat "$url_file")
  grep -qF "$url" "$log" || fail "the URL is not printed in the demo's output (log: $log)"
  say "URL after $((SECONDS - t0)) s: $url"
  (cd "$clone" && node scripts/lib/demoProbe.js "$url" "$work/demo.png") || { kill -INT -- "-$pid"; fail "the demo's workbench does not list the worker (log: $log)"; }
  local n; n=$(marker_procs "$url_file" | wc -l)
  say "$n demo processes running; sending Ctrl-C"
  kill -INT -- "-$pid"
  for _ in $(seq 60); do [ -z "$(marker_procs "$url_file")" ] && break; sleep 0.5; done
  local left; left=$(marker_procs "$url_file" | tr '\n' ' ')
  [ -z "$left" ] || fail "processes left after Ctrl-C: $left"
  wait "$pid" 2>/dev/null || true
  say "demo OK: URL, worker listed (screenshot $work/demo.png), nothing left after Ctrl-C"
}

test_check() {
  local clone=$work/test tools=$work/tools-test log=$work/test.log t0=$SECONDS
  git clone -q "$src" "$clone"; mkdir -p "$tools"
  say "npm test in $clone (tools: $tools, empty); log $log"
  (cd "$clone" && WORKERLENS_TOOLS_DIR="$tools" npm test < /dev/null 2>&1 | tee "$log" | grep -E '^(=== |\[setup\]|[0-9]+ passed, )' || true)
  local last; last=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$log" | tail -n 1)
  [[ "$last" =~ ^[0-9]+\ passed,\ 0\ failed ]] || fail "npm test: ${last:-no summary line} (log: $log)"
  say "npm test OK in $((SECONDS - t0)) s: $last"
}

case "${1:-}" in
  --test-first) test_check; demo_check ;;
  --demo-only) demo_check ;;
  --test-only) test_check ;;
  "") demo_check; test_check ;;
  *) echo "usage: bash scripts/fresh-check.sh [--test-first|--demo-only|--test-only]" >&2; exit 2 ;;
esac
say "all OK (work folder: $work)"
