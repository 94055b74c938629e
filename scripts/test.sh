#!/usr/bin/env bash
# Runs every test of nixos-fleet on this machine: unit, integration (simulated hosts behind
# real sshd, real nix-instantiate) and end to end (the real Pulumi CLI). Installs whatever is
# missing first (scripts/setup.sh), so it works on a fresh machine. Needs root, like the
# simulated fleet it starts (network namespaces, bind mounts, sshd).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh
# shellcheck source=scripts/env.sh
source scripts/env.sh
npm run --silent build

totals=$(mktemp)
trap 'rm -f "$totals"' EXIT
export FLEET_TEST_TOTALS=$totals
status=0
for suite in unit integration e2e; do
  echo "== ${suite} tests"
  npx mocha --config "test/.mocharc.${suite}.json" || status=1
done
awk '{ p += $1; f += $2; s += $3 } END { printf "total: %d passed, %d failed%s\n", p, f, (s ? ", " s " skipped" : "") }' "$totals"
# A suite that died before reporting counts as failed even when the totals look clean.
[ "$(wc -l < "$totals")" -eq 3 ] || status=1
exit "$status"
