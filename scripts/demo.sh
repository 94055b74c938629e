#!/usr/bin/env bash
# The main job on this machine's embedded default: starts a simulated fleet of three NixOS
# hosts and the real Kubernetes control plane (npm run sim), previews and rolls out the dev stack to it, then
# makes a change every host must reboot for (a kernel parameter), previews it and rolls it out:
# drain, reboot, back on a new boot, kubelet Ready, uncordon, gates, one host at a time.
# Run as root (the simulated hosts live in network namespaces behind real sshd). Leaves the
# fleet running so you can look around; `npm run sim -- down` removes it.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# The dev stack's passphrase protects nothing real: it only encrypts the simulated cluster's
# join token in Pulumi.dev.yaml. Production stacks get their own, kept in CI's secrets.
export PULUMI_CONFIG_PASSPHRASE="${PULUMI_CONFIG_PASSPHRASE:-nixos-fleet-dev}"
bash scripts/sim-dev-stack.sh
bash scripts/fleet.sh dev preview --diff --show-full-output
bash scripts/fleet.sh dev up --yes --skip-preview

echo
echo "== A change that needs a reboot: a kernel parameter on every host (.sim/inventory.yaml)"
node dist/sim/demo.js kernel-param .sim/inventory.yaml "$(date +%s)"
bash scripts/fleet.sh dev preview --diff
since=$(node -p 'Date.now()')
bash scripts/fleet.sh dev up --yes --skip-preview
bash scripts/fleet.sh dev stack output fleet --json > .sim/outputs.json
npm run --silent sim -- timeline --json > .sim/timeline.jsonl
echo
echo "What the last rollout did:"
node dist/sim/demo.js summary .sim/outputs.json .sim/timeline.jsonl "$since"
echo
echo "Rolled out. Look around:"
echo "  npm run sim -- timeline         # every SSH session, build, cordon, reboot, Ready"
echo "  bash scripts/fleet.sh dev stack output --json"
echo "  npm run sim -- down             # stop the simulated fleet"
