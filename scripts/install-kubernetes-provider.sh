#!/usr/bin/env bash
# Builds the Pulumi Kubernetes resource provider (pulumi-resource-kubernetes)
# from source, through the Go module proxy, into
# $FLEET_KUBERNETES_PROVIDER_BIN (see scripts/env.sh), and installs it as the
# `kubernetes` resource plugin of the release @pulumi/kubernetes asks for, in
# $PULUMI_HOME. Our machines cannot download the released plugin, but they can
# reach the module proxy.
#
# tools/kubernetes-provider wraps github.com/pulumi/pulumi-kubernetes/provider/v4
# with its own main: upstream's main embeds schema-embed.json and
# terraform-mapping-embed.json, which its release build generates and the module
# zip lacks, so cmd/kubernetes-embed writes them here from the schema.json and
# terraform-mapping.json the module does ship, with the release's version set.
#
# Idempotent: the binary is rebuilt only when it is missing or its stamp (the
# pinned version, the wrapper module's go.mod, go.sum and sources, the Go
# release and the link flags) changed, and installed only when the plugin
# folder does not already hold this very binary. A cold build took 59 minutes
# (32 CPU-minutes) on a loaded 2-core machine, about half an hour idle; the
# binary is 167 MB; with nothing to do it takes about a second (README.md,
# "The Kubernetes provider plugin here").
# Needs: go >= 1.26, node_modules installed (npm ci), and the Pulumi CLI
# (scripts/install-pulumi.sh) to install the plugin. With --build-only it only
# builds the binary and needs no CLI.
set -euo pipefail

# shellcheck source=scripts/env.sh
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"

module_dir="$FLEET_ROOT/tools/kubernetes-provider"
version="$FLEET_KUBERNETES_PROVIDER_VERSION"
module_version="$FLEET_KUBERNETES_PROVIDER_MODULE_VERSION"
bin="$FLEET_KUBERNETES_PROVIDER_BIN"
provider_module=github.com/pulumi/pulumi-kubernetes/provider/v4
main_dir="$module_dir/cmd/pulumi-resource-kubernetes"

say() { echo "install-kubernetes-provider: $*"; }
fail() { echo "install-kubernetes-provider: $*" >&2; exit 1; }

build_only=false
case "${1:-}" in
  "") ;;
  --build-only) build_only=true ;;
  *) fail "unknown argument '$1'; the only option is --build-only" ;;
esac

command -v go >/dev/null || fail "go is not on PATH; install Go >= 1.26 first"

# --- the places that pin the release must agree -------------------------------
pinned_npm="$(node -p 'require(process.argv[1]).dependencies["@pulumi/kubernetes"]' "$FLEET_ROOT/package.json")"
[ "$pinned_npm" = "$version" ] ||
  fail "package.json pins @pulumi/kubernetes $pinned_npm but scripts/env.sh pins $version; make them equal"
go_mod_provider="$(cd "$module_dir" && go list -m -f '{{.Version}}' "$provider_module")"
[ "$go_mod_provider" = "$module_version" ] ||
  fail "tools/kubernetes-provider/go.mod pins $provider_module $go_mod_provider but scripts/env.sh pins $module_version; make them equal"

# --- build -------------------------------------------------------------------------
# As upstream's release build does, the version is stamped in at link time.
ldflags="-s -w -X $provider_module/pkg/version.Version=$version"
sources="$(cd "$module_dir" && find . -name '*.go' -o -name go.mod -o -name go.sum | LC_ALL=C sort |
  xargs cat | sha256sum | cut -d' ' -f1)"
stamp="$sources-v$version-$(go env GOVERSION)-$(echo "$ldflags" | sha256sum | cut -c1-16)"

mkdir -p "$bin"
if [ -x "$bin/pulumi-resource-kubernetes" ] && [ "$(cat "$bin/.pulumi-resource-kubernetes.stamp" 2>/dev/null || true)" = "$stamp" ]; then
  say "pulumi-resource-kubernetes v$version already built in $bin"
else
  say "building pulumi-resource-kubernetes v$version (cold: about half an hour on 2 cores) ..."
  start=$SECONDS
  stage="$(mktemp -d "$bin/.build.XXXXXX")"
  trap 'rm -rf "$stage"' EXIT
  # -mod=readonly: nothing is resolved afresh, every download is checked against go.sum.
  module_src="$(cd "$module_dir" && go mod download -json "$provider_module" | node -e '
    let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => {
      const m = JSON.parse(s);
      if (m.Error || !m.Dir) { console.error(m.Error || "no Dir"); process.exit(1); }
      console.log(m.Dir);
    });')" || fail "cannot download $provider_module@$module_version from the module proxy"
  (cd "$module_dir" && go run -mod=readonly ./cmd/kubernetes-embed \
    -module-dir "$module_src" -version "$version" -out "$main_dir")
  (cd "$module_dir" && CGO_ENABLED=0 go build -mod=readonly -trimpath -buildvcs=false \
    -ldflags "$ldflags" -o "$stage/pulumi-resource-kubernetes" ./cmd/pulumi-resource-kubernetes)
  mv -f "$stage/pulumi-resource-kubernetes" "$bin/pulumi-resource-kubernetes"
  echo "$stamp" >"$bin/.pulumi-resource-kubernetes.stamp"
  rm -rf "$stage"
  trap - EXIT
  say "built pulumi-resource-kubernetes in $((SECONDS - start))s ($(du -m "$bin/pulumi-resource-kubernetes" | cut -f1) MB)"
fi

# --- install as a Pulumi plugin ------------------------------------------------------
$build_only && exit 0
command -v pulumi >/dev/null || fail "pulumi is not on PATH; run scripts/install-pulumi.sh first"
installed="$PULUMI_HOME/plugins/resource-kubernetes-v$version/pulumi-resource-kubernetes"
if [ -f "$installed" ] && cmp -s "$installed" "$bin/pulumi-resource-kubernetes"; then
  say "plugin resource kubernetes v$version already installed in $PULUMI_HOME"
else
  say "installing plugin resource kubernetes v$version into $PULUMI_HOME"
  pulumi plugin install resource kubernetes "$version" --reinstall --file "$bin/pulumi-resource-kubernetes"
  if ! cmp -s "$installed" "$bin/pulumi-resource-kubernetes"; then
    fail "pulumi plugin install did not put the binary at $installed"
  fi
fi
say "ready: $installed"
