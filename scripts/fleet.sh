#!/usr/bin/env bash
# Runs one Pulumi command against one stack of this project, the way CI and the README do:
#
#   bash scripts/fleet.sh STACK preview --diff
#   bash scripts/fleet.sh STACK up --yes
#
# Builds the TypeScript first when a source changed since the last build (Pulumi runs dist/;
# scripts/build-if-stale.sh), uses the file backend in .pulumi-state/ unless
# PULUMI_BACKEND_URL names another, and creates the stack when it does not exist yet.
# PULUMI_CONFIG_PASSPHRASE must be set (the dev stack's is public: see README.md). up, preview,
# refresh and destroy get --parallel ${FLEET_PARALLEL:-64} unless one is given.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$#" -lt 2 ]; then
  echo "usage: bash scripts/fleet.sh STACK PULUMI-COMMAND [ARGS...]" >&2
  exit 2
fi
stack=$1
shift
# shellcheck source=scripts/env.sh
source scripts/env.sh
command -v pulumi >/dev/null || { echo "fleet: the Pulumi CLI is missing; run bash scripts/setup.sh" >&2; exit 1; }
if [ -z "${PULUMI_CONFIG_PASSPHRASE:-}" ] && [ -z "${PULUMI_CONFIG_PASSPHRASE_FILE:-}" ]; then
  echo "fleet: set PULUMI_CONFIG_PASSPHRASE (stack $stack's secrets are encrypted with it)" >&2
  exit 1
fi
[ -n "${PULUMI_BACKEND_URL:-}" ] || fleet_pulumi_use_file_backend .pulumi-state
bash scripts/build-if-stale.sh
pulumi stack select --create --secrets-provider passphrase "$stack" >/dev/null
# The engine runs at most --parallel steps at once (by default 4 x this machine's CPUs): the
# hosts of a wide wave would queue behind each other. The builds are one step (the FleetBuild
# bounds them itself), and the activations are bounded by the waves and the fleet lease.
case "$1" in
  up | update | preview | refresh | destroy)
    case " $* " in
      *" --parallel"* | *" -p "* | *" -p="*) ;;
      *) set -- "$@" --parallel "${FLEET_PARALLEL:-64}" ;;
    esac
    ;;
esac
exec pulumi --non-interactive "$@" --stack "$stack"
