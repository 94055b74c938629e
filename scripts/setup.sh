#!/usr/bin/env bash
# Prepares a Debian (bookworm) machine to build and test this project, using
# only the project's own files and the package registries. Three steps:
#   system  Debian packages the simulated fleet and the tests call (sshd,
#           nix-instantiate, ip, nsenter/unshare, openssl, ps, ...), installed only
#           when missing; the machine's Nix store under /nix, created by
#           `nix-store --init` when missing; node_modules (npm ci), when missing or
#           older than package-lock.json;
#   kube    actionlint (install-actionlint.sh) and the Kubernetes control plane the
#           simulated fleet runs, with kubectl and etcd (install-kube.sh);
#   pulumi  the Pulumi CLI and language host (install-pulumi.sh) and the Kubernetes
#           provider plugin (install-kubernetes-provider.sh).
# Tools are built into a cache outside the checkout.
#
#   bash scripts/setup.sh            # all three; kube and pulumi build side by side
#   bash scripts/setup.sh STEP...    # only these steps, in this order
#
# Idempotent: on a prepared machine it changes nothing and takes a few seconds.
# Node.js (>= 20.19) and Go (>= 1.26) must already be installed: Debian's own
# packages of both are too old.
set -euo pipefail

# shellcheck source=scripts/env.sh
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"

# Debian packages we need, and why:
#   nix-bin: nix-instantiate renders and checks host configurations
#   openssh-server, openssh-client: simulated hosts are reached only through real sshd; ssh-keygen
#   iproute2: network namespaces and veths (ip); util-linux, mount: unshare, nsenter, mount
#   openssl: test certificates for the simulated Kubernetes API; procps: ps and friends
#   the shell linter (package shellcheck): actionlint uses it to check the shell in workflow `run:` steps
apt_packages=(nix-bin openssh-server openssh-client iproute2 openssl util-linux mount procps shellcheck)

say() { echo "setup: $*"; }
fail() { echo "setup: $*" >&2; exit 1; }

# version_at_least HAVE WANT: true when dotted version HAVE >= WANT.
version_at_least() {
  [ "$(printf '%s\n%s\n' "$2" "$1" | sort -V | head -n1)" = "$2" ]
}

# --- prerequisites that do not come from apt ---------------------------------
command -v node >/dev/null || fail "node is not installed; install Node.js >= 20.19 first"
command -v npm >/dev/null || fail "npm is not installed; install it with Node.js"
command -v go >/dev/null || fail "go is not installed; install Go >= 1.26 first"
node_version="$(node -p 'process.versions.node')"
version_at_least "$node_version" 20.19.0 || fail "Node.js $node_version is too old; package.json needs >= 20.19"
go_version="$(go env GOVERSION)"
version_at_least "${go_version#go}" 1.26 || fail "$go_version is too old; tools/kube/go.mod (Kubernetes 1.37) needs Go >= 1.26"

# --- steps -------------------------------------------------------------------
step_system() {
  # --- Debian packages ---------------------------------------------------------
  missing=()
  for pkg in "${apt_packages[@]}"; do
    status="$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)"
    [ "$status" = "installed" ] || missing+=("$pkg")
  done

  if [ "${#missing[@]}" -eq 0 ]; then
    say "Debian packages present"
  else
    say "installing Debian packages: ${missing[*]}"
    sudo=()
    if [ "$(id -u)" -ne 0 ]; then
      command -v sudo >/dev/null || fail "not root and no sudo; install as root: apt-get install ${missing[*]}"
      sudo=(sudo)
    fi
    # Keep package scripts from starting a system sshd on port 22: our tests
    # start their own sshd processes. policy-rc.d is how Debian lets an installer
    # veto service starts; an existing one is left as it is.
    policy=/usr/sbin/policy-rc.d
    added_policy=false
    if [ ! -e "$policy" ]; then
      printf '#!/bin/sh\n# Temporary, from nixos-fleet scripts/setup.sh: no service starts during installs.\nexit 101\n' |
        "${sudo[@]}" tee "$policy" >/dev/null
      "${sudo[@]}" chmod 0755 "$policy"
      added_policy=true
    fi
    remove_policy() { if $added_policy; then "${sudo[@]}" rm -f "$policy"; fi; }
    trap remove_policy EXIT

    "${sudo[@]}" apt-get update -qq
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o Dpkg::Use-Pty=0 --no-install-recommends "${missing[@]}"
    remove_policy
    trap - EXIT
  fi

  # --- the machine's Nix store ---------------------------------------------------
  # Debian's nix-bin ships the programs but not /nix: a Nix installer would create the
  # store and its database. Do the same here, so that /nix belongs to the machine's Nix
  # and not to whichever program first runs nix-instantiate (the simulated fleet only
  # mounts over /nix/store and /nix/var/nix, and refuses to start without them).
  if [ ! -d /nix/store ] || [ ! -d /nix/var/nix/db ]; then
    say "initializing the machine's Nix store (/nix)"
    nix_init=(nix-store --init)
    [ "$(id -u)" -eq 0 ] || nix_init=(sudo nix-store --init)
    "${nix_init[@]}" 2> >(grep -v "group 'nixbld'" >&2)
  else
    say "Nix store present"
  fi

  # --- node_modules ------------------------------------------------------------
  # npm writes node_modules/.package-lock.json on every install; when it is older
  # than package-lock.json, the installed tree may not match the lock file.
  cd "$FLEET_ROOT"
  if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    say "installing node_modules (npm ci)"
    # The @pulumi/* packages' install scripts download their plugins from the
    # internet; the plugins this project uses are built by the pulumi step. Every
    # other package's install script (native bindings) runs as usual.
    npm ci --no-audit --no-fund --ignore-scripts
    mapfile -t scripted < <(node -e '
      const lock = require("./package-lock.json");
      for (const [path, pkg] of Object.entries(lock.packages))
        if (pkg.hasInstallScript && path && !path.startsWith("node_modules/@pulumi/")) console.log(path.replace(/^.*node_modules\//, ""));')
    if [ "${#scripted[@]}" -gt 0 ]; then npm rebuild --no-audit --no-fund "${scripted[@]}"; fi
  else
    say "node_modules up to date"
  fi
}

step_kube() {
  bash "$FLEET_ROOT/scripts/install-actionlint.sh"
  bash "$FLEET_ROOT/scripts/install-kube.sh"
}

# The plugin builds while the CLI does (they share nothing but the Go caches, which
# Go locks); it is installed into the CLI's plugin folder once both are done.
step_pulumi() {
  local cli_pid
  bash "$FLEET_ROOT/scripts/install-pulumi.sh" &
  cli_pid=$!
  if ! bash "$FLEET_ROOT/scripts/install-kubernetes-provider.sh" --build-only; then
    wait "$cli_pid" || true
    fail "building the Kubernetes provider plugin failed (above)"
  fi
  wait "$cli_pid" || fail "building the Pulumi CLI failed (above)"
  bash "$FLEET_ROOT/scripts/install-kubernetes-provider.sh"
}

# With every step asked for, the Pulumi tools build in the background while the
# Kubernetes ones do: on 2 cores the two builds fill each other's downloads and links.
run_all() {
  local log pulumi_pid
  step_system
  log="$(mktemp "${TMPDIR:-/tmp}/nixos-fleet-setup-pulumi.XXXXXX")"
  say "building the Pulumi tools in the background (log: $log)"
  step_pulumi >"$log" 2>&1 &
  pulumi_pid=$!
  if ! step_kube; then
    kill "$pulumi_pid" 2>/dev/null || true
    wait "$pulumi_pid" 2>/dev/null || true
    sed 's/^/  | /' "$log"; rm -f "$log"
    fail "building the Kubernetes tools failed (above)"
  fi
  say "waiting for the Pulumi tools"
  local status=0
  wait "$pulumi_pid" || status=$?
  sed 's/^/  | /' "$log"; rm -f "$log"
  [ "$status" -eq 0 ] || fail "building the Pulumi tools failed (above)"
}

if [ "$#" -eq 0 ]; then
  run_all
  say "done; run 'source scripts/env.sh' to put pulumi, actionlint, kubectl and etcd on PATH"
else
  for step in "$@"; do
    case "$step" in
      system) step_system ;;
      kube) step_kube ;;
      pulumi) step_pulumi ;;
      *) fail "unknown step '$step'; the steps are: system, kube, pulumi (none: all three)" ;;
    esac
  done
  say "done: $*"
fi
