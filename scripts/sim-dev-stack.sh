#!/usr/bin/env bash
# Points the dev stack at a running simulated fleet, starting one when none runs:
#   1. npm run sim -- up --hosts 3              (unless .sim already holds a running fleet)
#   2. npm run sim -- inventory inventory/dev.yaml
#        writes .sim/inventory.yaml: the dev inventory with the simulated hosts' addresses,
#        SSH ports and host keys and the fleet's kubeconfig file (Pulumi.dev.yaml reads it)
#   3. pulumi config set --secret fleet:sshPrivateKey < .sim/id_ed25519   (stack dev)
# The program is not told it runs against a simulation: it reads an ordinary inventory file
# and a secret login key, as for real hosts. Needs root and PULUMI_CONFIG_PASSPHRASE.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -S .sim/control.sock ] || ! npm run --silent sim -- status >/dev/null 2>&1; then
  npm run --silent sim -- up --hosts 3
fi
npm run --silent sim -- inventory inventory/dev.yaml --out .sim/inventory.yaml >/dev/null
bash scripts/fleet.sh dev config set --secret fleet:sshPrivateKey < .sim/id_ed25519
echo "dev stack: inventory .sim/inventory.yaml, login key of the simulated fleet stored as a secret"
