# shellcheck shell=bash
# Environment for the project's scripts: source it, do not run it.
#
#   source scripts/env.sh
#   fleet_pulumi_use_file_backend "$state_dir"   # then set PULUMI_CONFIG_PASSPHRASE
#
# It is the one place for the pinned tool versions and the tool cache, puts the
# tools scripts/install-pulumi.sh, scripts/install-actionlint.sh and
# scripts/install-kube.sh build on PATH (ahead of anything installed
# system-wide), and configures the Pulumi CLI
# so it never reaches the internet: no update check (which also carries usage
# metadata), no plugin downloads, no registry look-ups. It deliberately sets no
# backend and no passphrase; each caller chooses its own state folder.
# Safe to source more than once, and under `set -euo pipefail`.

FLEET_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

# Pulumi CLI release; must equal the @pulumi/pulumi version in package.json
# and the pkg/v3 + sdk/v3 versions in tools/pulumi/go.mod (install-pulumi.sh
# checks all three). See install-pulumi.sh for why it is this release.
FLEET_PULUMI_VERSION="3.248.0"
# actionlint release built by install-actionlint.sh.
FLEET_ACTIONLINT_VERSION="1.7.12"
# Kubernetes release of the control plane the simulated fleet runs
# (kube-apiserver, kube-controller-manager, kube-scheduler) and of kubectl;
# must equal k8s.io/kubernetes in tools/kube/go.mod, whose staging modules
# are replaced by their v0.X.Y builds (install-kube.sh checks both).
FLEET_KUBE_VERSION="1.37.2"
# etcd release behind that control plane; must equal
# go.etcd.io/etcd/server/v3 in tools/etcd/go.mod.
FLEET_ETCD_VERSION="3.7.3"
# Pulumi Kubernetes provider release (pulumi-resource-kubernetes, built by
# install-kubernetes-provider.sh); must equal @pulumi/kubernetes in
# package.json. Its Go module is served only at a pseudo-version, the commit
# of the release tag; tools/kubernetes-provider/go.mod must require exactly it.
FLEET_KUBERNETES_PROVIDER_VERSION="4.25.0"
FLEET_KUBERNETES_PROVIDER_MODULE_VERSION="v4.0.0-20260115033456-f47bc2d6f199"

# Built tools live outside the checkout so that cleaning or re-cloning the
# repository does not cost another multi-minute build.
FLEET_CACHE="${NIXOS_FLEET_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/nixos-fleet}"
FLEET_PULUMI_BIN="$FLEET_CACHE/pulumi-v$FLEET_PULUMI_VERSION/bin"
FLEET_ACTIONLINT_BIN="$FLEET_CACHE/actionlint-v$FLEET_ACTIONLINT_VERSION/bin"
FLEET_KUBE_BIN="$FLEET_CACHE/kube-v$FLEET_KUBE_VERSION/bin"
FLEET_ETCD_BIN="$FLEET_CACHE/etcd-v$FLEET_ETCD_VERSION/bin"
FLEET_KUBERNETES_PROVIDER_BIN="$FLEET_CACHE/pulumi-kubernetes-v$FLEET_KUBERNETES_PROVIDER_VERSION/bin"
export FLEET_ROOT FLEET_CACHE FLEET_PULUMI_VERSION FLEET_PULUMI_BIN FLEET_ACTIONLINT_VERSION FLEET_ACTIONLINT_BIN
export FLEET_KUBE_VERSION FLEET_KUBE_BIN FLEET_ETCD_VERSION FLEET_ETCD_BIN
export FLEET_KUBERNETES_PROVIDER_VERSION FLEET_KUBERNETES_PROVIDER_MODULE_VERSION FLEET_KUBERNETES_PROVIDER_BIN

case ":$PATH:" in
  *":$FLEET_PULUMI_BIN:"*) ;;
  *) PATH="$FLEET_PULUMI_BIN:$PATH" ;;
esac
case ":$PATH:" in
  *":$FLEET_ACTIONLINT_BIN:"*) ;;
  *) PATH="$FLEET_ACTIONLINT_BIN:$PATH" ;;
esac
# kubectl of the same release as the simulated fleet's control plane, and etcd.
case ":$PATH:" in
  *":$FLEET_KUBE_BIN:"*) ;;
  *) PATH="$FLEET_KUBE_BIN:$PATH" ;;
esac
case ":$PATH:" in
  *":$FLEET_ETCD_BIN:"*) ;;
  *) PATH="$FLEET_ETCD_BIN:$PATH" ;;
esac
export PATH

# Keep Pulumi's own home (plugins, stack selection, stored logins) apart from
# any personal ~/.pulumi, so a developer's cloud login is never picked up.
export PULUMI_HOME="${PULUMI_HOME:-$FLEET_CACHE/pulumi-home}"
export PULUMI_SKIP_UPDATE_CHECK=true
export PULUMI_AUTOMATION_API_SKIP_VERSION_CHECK=true
export PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true
export PULUMI_DISABLE_REGISTRY_RESOLVE=true
export PULUMI_SUPPRESS_NEO_LINK=true

# fleet_pulumi_use_file_backend DIR
#   Points every later pulumi command of this shell (and its children) at a
#   file backend in DIR, creating DIR. It uses PULUMI_BACKEND_URL rather than
#   `pulumi login`, which would record the choice in PULUMI_HOME and make
#   parallel runs with different state folders race with each other.
fleet_pulumi_use_file_backend() {
  if [ "$#" -ne 1 ] || [ -z "$1" ]; then
    echo "fleet_pulumi_use_file_backend: usage: fleet_pulumi_use_file_backend STATE_DIR" >&2
    return 2
  fi
  mkdir -p -- "$1"
  PULUMI_BACKEND_URL="file://$(cd -- "$1" && pwd)"
  export PULUMI_BACKEND_URL
}
