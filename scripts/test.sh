#!/usr/bin/env bash
# Runs every test of nixos-fleet on this machine: unit, integration (simulated hosts behind
# real sshd, real nix-instantiate, a real Kubernetes control plane) and end to end (the real
# Pulumi CLI). Installs whatever is missing first (scripts/setup.sh), so it works on a fresh
# machine. Needs root, like the simulated fleet it starts (network namespaces, bind mounts, sshd).
#
# Only the end-to-end tests need the Pulumi CLI and the Kubernetes provider plugin, the
# longest builds of a fresh machine. They build in the background, at a lower CPU priority,
# while the unit and integration tests run, and the end-to-end tests wait for them.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh system
pulumi_log=$(mktemp)
totals=$(mktemp)
pulumi_pid=
# kill_tree PID: stops PID and every process below it (the go builds of a setup step).
kill_tree() {
  local child
  for child in $(pgrep -P "$1" || true); do kill_tree "$child"; done
  kill "$1" 2>/dev/null || true
}
cleanup() {
  if [ -n "$pulumi_pid" ]; then kill_tree "$pulumi_pid"; fi
  rm -f "$totals" "$pulumi_log"
}
trap cleanup EXIT
echo "== building the Pulumi tools in the background (nice 10)"
nice -n 10 bash scripts/setup.sh pulumi >"$pulumi_log" 2>&1 &
pulumi_pid=$!
bash scripts/setup.sh kube
# shellcheck source=scripts/env.sh
source scripts/env.sh
npm run --silent build

export FLEET_TEST_TOTALS=$totals
status=0
for suite in unit integration e2e; do
  if [ "$suite" = e2e ]; then
    echo "== waiting for the Pulumi tools"
    pulumi_status=0
    wait "$pulumi_pid" || pulumi_status=$?
    pulumi_pid=
    sed 's/^/  | /' "$pulumi_log"
    if [ "$pulumi_status" -ne 0 ]; then
      echo "== e2e tests not run: building the Pulumi tools failed (above)"
      status=1
      continue
    fi
  fi
  echo "== ${suite} tests"
  npx mocha --config "test/.mocharc.${suite}.json" || status=1
done
awk '{ p += $1; f += $2; s += $3 } END { printf "total: %d passed, %d failed%s\n", p, f, (s ? ", " s " skipped" : "") }' "$totals"
# A suite that died before reporting (or never ran) counts as failed even when the totals look clean.
[ "$(wc -l < "$totals")" -eq 3 ] || status=1
exit "$status"
