#!/usr/bin/env bash
# Builds the Kubernetes control plane the simulated fleet runs (kube-apiserver,
# kube-controller-manager, kube-scheduler), kubectl of the same release, and
# etcd from source, through the Go module proxy, into $FLEET_KUBE_BIN and
# $FLEET_ETCD_BIN (see scripts/env.sh). No prebuilt binary is downloaded.
#
# tools/kube is a wrapper module around k8s.io/kubernetes whose go.mod replaces
# each staging module with its published build of the same release; the
# commands are upstream's own main packages. tools/etcd wraps
# go.etcd.io/etcd/server/v3 with a one-call main.
#
# Idempotent: a binary is rebuilt only when it is missing or its stamp (the
# pinned version, the wrapper module's go.mod, go.sum and sources, the Go
# release and the link flags) changed.
# A cold build takes about 24 CPU-minutes (25 minutes on a shared 2-core
# machine, etcd about 2 of them), 0.8 GB of modules and 4 GB of build cache;
# a relink from a warm cache about 30 s; with nothing to do about 0.1 s
# (README.md, "The Kubernetes control plane here").
# Needs: go >= 1.26 (k8s.io/kubernetes 1.37 requires it).
set -euo pipefail

# shellcheck source=scripts/env.sh
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"

kube_module="$FLEET_ROOT/tools/kube"
etcd_module="$FLEET_ROOT/tools/etcd"
kube_version="$FLEET_KUBE_VERSION"
etcd_version="$FLEET_ETCD_VERSION"

say() { echo "install-kube: $*"; }
fail() { echo "install-kube: $*" >&2; exit 1; }

command -v go >/dev/null || fail "go is not on PATH; install Go >= 1.26 first"

# stamp DIR VERSION: what a build from DIR depends on besides the Go toolchain.
stamp() {
  local sources
  sources="$(cd "$1" && find . -name '*.go' -o -name go.mod -o -name go.sum | LC_ALL=C sort |
    xargs cat | sha256sum | cut -d' ' -f1)"
  echo "$sources-v$2-$(go env GOVERSION)"
}

# up_to_date BIN_DIR NAME STAMP: the binary exists and was built from STAMP.
up_to_date() {
  [ -x "$1/$2" ] && [ "$(cat "$1/.$2.stamp" 2>/dev/null || true)" = "$3" ]
}

# All builds read only go.mod/go.sum: nothing is resolved afresh, and every
# download is checked against go.sum. Static binaries, as upstream releases them,
# and without this checkout's git state in them, so the stamp says all they depend on.
go_build() {
  local dir="$1"; shift
  (cd "$dir" && CGO_ENABLED=0 go build -mod=readonly -trimpath -buildvcs=false "$@")
}

# --- etcd ---------------------------------------------------------------------
go_mod_etcd="$(cd "$etcd_module" && go list -m -f '{{.Version}}' go.etcd.io/etcd/server/v3)"
[ "$go_mod_etcd" = "v$etcd_version" ] ||
  fail "tools/etcd/go.mod pins go.etcd.io/etcd/server/v3 $go_mod_etcd but scripts/env.sh pins v$etcd_version; make them equal"

etcd_ldflags="-s -w"
etcd_stamp="$(stamp "$etcd_module" "$etcd_version")-$(echo "$etcd_ldflags" | sha256sum | cut -c1-16)"
mkdir -p "$FLEET_ETCD_BIN"
if up_to_date "$FLEET_ETCD_BIN" etcd "$etcd_stamp"; then
  say "etcd v$etcd_version already built in $FLEET_ETCD_BIN"
else
  say "building etcd v$etcd_version ..."
  start=$SECONDS
  stage="$(mktemp -d "$FLEET_ETCD_BIN/.build.XXXXXX")"
  trap 'rm -rf "$stage"' EXIT
  go_build "$etcd_module" -ldflags "$etcd_ldflags" -o "$stage/etcd" ./cmd/etcd
  reported="$("$stage/etcd" --version 2>&1 | head -n1 || true)"
  [ "$reported" = "etcd Version: $etcd_version" ] ||
    fail "the freshly built etcd does not report $etcd_version: $reported"
  mv -f "$stage/etcd" "$FLEET_ETCD_BIN/etcd"
  echo "$etcd_stamp" >"$FLEET_ETCD_BIN/.etcd.stamp"
  rm -rf "$stage"
  trap - EXIT
  say "built etcd in $((SECONDS - start))s"
fi

# --- Kubernetes ---------------------------------------------------------------
# k8s.io/kubernetes and every replaced staging module must be of the pinned release.
kube_minor_patch="${kube_version#*.}"
go_mod_kube="$(cd "$kube_module" && go list -m -f '{{.Version}}' k8s.io/kubernetes)"
[ "$go_mod_kube" = "v$kube_version" ] ||
  fail "tools/kube/go.mod pins k8s.io/kubernetes $go_mod_kube but scripts/env.sh pins v$kube_version; make them equal"
skewed="$(awk -v want="v0.$kube_minor_patch" '$2 == "=>" && $1 ~ /^k8s\.io\// && $4 != want { print $1 " " $4 }' \
  "$kube_module/go.mod")"
[ -z "$skewed" ] ||
  fail "tools/kube/go.mod replaces staging modules with another release than v0.$kube_minor_patch: $skewed"

kube_commands=(kube-apiserver kube-controller-manager kube-scheduler kubectl)
# The version every component reports (and kube-apiserver serves on /version)
# is stamped in by ldflags, as upstream's release build does.
ldflags="-s -w"
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  ldflags+=" -X $pkg.gitVersion=v$kube_version -X $pkg.gitMajor=${kube_version%%.*}"
  ldflags+=" -X $pkg.gitMinor=${kube_minor_patch%%.*} -X $pkg.gitTreeState=clean"
done
kube_stamp="$(stamp "$kube_module" "$kube_version")-$(echo "$ldflags" | sha256sum | cut -c1-16)"
mkdir -p "$FLEET_KUBE_BIN"
missing=()
for cmd in "${kube_commands[@]}"; do
  up_to_date "$FLEET_KUBE_BIN" "$cmd" "$kube_stamp" || missing+=("$cmd")
done

if [ "${#missing[@]}" -eq 0 ]; then
  say "Kubernetes v$kube_version already built in $FLEET_KUBE_BIN"
else
  say "building ${missing[*]} v$kube_version (cold: many minutes) ..."
  start=$SECONDS
  stage="$(mktemp -d "$FLEET_KUBE_BIN/.build.XXXXXX")"
  trap 'rm -rf "$stage"' EXIT
  pkgs=()
  for cmd in "${missing[@]}"; do pkgs+=("k8s.io/kubernetes/cmd/$cmd"); done
  # One invocation for all commands, so their shared packages compile once.
  go_build "$kube_module" -ldflags "$ldflags" -o "$stage/" "${pkgs[@]}"
  for cmd in "${missing[@]}"; do
    reported="$("$stage/$cmd" --version 2>&1 || true)"
    [ "$cmd" = kubectl ] && reported="$("$stage/kubectl" version --client 2>&1 | head -n1 || true)"
    case "$reported" in
      *"v$kube_version") ;;
      *) fail "the freshly built $cmd does not report v$kube_version: $reported" ;;
    esac
    mv -f "$stage/$cmd" "$FLEET_KUBE_BIN/$cmd"
    echo "$kube_stamp" >"$FLEET_KUBE_BIN/.$cmd.stamp"
  done
  rm -rf "$stage"
  trap - EXIT
  say "built ${missing[*]} in $((SECONDS - start))s"
fi

say "ready: $FLEET_KUBE_BIN (kube-apiserver, kube-controller-manager, kube-scheduler, kubectl) and $FLEET_ETCD_BIN/etcd"
