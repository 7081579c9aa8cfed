#!/bin/sh
# Installs what the test suite needs from Debian's packages, when it is missing:
# redis-server (the Redis ledger tests start a private one), git (worktree tests),
# bubblewrap and socat (Claude Code's sandbox, which runs an agent's commands under workspace-write).
# Uses sudo only when not root, and only when something is missing.
set -eu
missing=""
command -v redis-server >/dev/null 2>&1 || missing="$missing redis-server"
command -v git >/dev/null 2>&1 || missing="$missing git"
command -v bwrap >/dev/null 2>&1 || missing="$missing bubblewrap"
command -v socat >/dev/null 2>&1 || missing="$missing socat"
[ -z "$missing" ] && exit 0
if [ "$(id -u)" = 0 ]; then as_root=""; else as_root="sudo"; fi
echo "installing:$missing"
$as_root apt-get update
# shellcheck disable=SC2086 # one word per package
$as_root apt-get install -y $missing
