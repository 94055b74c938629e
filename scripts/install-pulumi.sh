#!/usr/bin/env bash
# Builds the Pulumi CLI and its Node.js language host from source, through the
# Go module proxy, into $FLEET_PULUMI_BIN (see scripts/env.sh), and puts the
# dynamic-provider launcher next to them. Our build machines cannot download
# the released CLI, but they can reach the module proxy.
#
# Why release 3.248.0: the CLI must match the @pulumi/pulumi SDK in
# package.json, and 3.248.0 is the last SDK release whose `engines` field
# accepts Node 20, which our machines run; newer SDKs require Node >= 22.
#
# Why our own language host: the upstream pulumi-language-nodejs is a separate
# Go module that the module proxy does not serve, so tools/pulumi carries a
# small host that runs programs through the SDK's own runner (see
# tools/pulumi/cmd/pulumi-language-nodejs/main.go).
#
# Idempotent: each binary is rebuilt only when it is missing, reports another
# version, or (language host) its sources changed. A cold build on 2 cores
# takes about 6 minutes (about 1.4 GB of modules to download and 1.6 GB of
# build cache); a run with nothing to do takes under a second.
# Needs: go >= 1.25, node, and node_modules installed (npm ci).
set -euo pipefail

# shellcheck source=scripts/env.sh
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"

module_dir="$FLEET_ROOT/tools/pulumi"
version="$FLEET_PULUMI_VERSION"
bin="$FLEET_PULUMI_BIN"
sdk_dir="$FLEET_ROOT/node_modules/@pulumi/pulumi"

fail() { echo "install-pulumi: $*" >&2; exit 1; }

# --- the three places that pin the release must agree -----------------------
command -v go >/dev/null || fail "go is not on PATH; install Go >= 1.25 first"
command -v node >/dev/null || fail "node is not on PATH"
[ -f "$sdk_dir/package.json" ] || fail "$sdk_dir is missing; run 'npm ci' in $FLEET_ROOT first"

pinned_sdk="$(node -p 'require(process.argv[1]).dependencies["@pulumi/pulumi"]' "$FLEET_ROOT/package.json")"
installed_sdk="$(node -p 'require(process.argv[1]).version' "$sdk_dir/package.json")"
go_mod_cli="$(cd "$module_dir" && go list -m -f '{{.Version}}' github.com/pulumi/pulumi/pkg/v3)"
go_mod_sdk="$(cd "$module_dir" && go list -m -f '{{.Version}}' github.com/pulumi/pulumi/sdk/v3)"
for pair in "package.json:$pinned_sdk" "node_modules:$installed_sdk" \
            "tools/pulumi/go.mod pkg/v3:${go_mod_cli#v}" "tools/pulumi/go.mod sdk/v3:${go_mod_sdk#v}"; do
  [ "${pair##*:}" = "$version" ] ||
    fail "${pair%:*} pins Pulumi ${pair##*:} but scripts/env.sh pins $version; make them equal"
done

mkdir -p "$bin"
stage="$(mktemp -d "$bin/.build.XXXXXX")"
trap 'rm -rf "$stage"' EXIT

# All builds read only go.mod/go.sum: nothing is resolved afresh, and every
# download is checked against go.sum.
go_build() {
  (cd "$module_dir" && go build -mod=readonly -trimpath "$@")
}

# --- the CLI -----------------------------------------------------------------
if [ "$("$bin/pulumi" version 2>/dev/null || true)" = "v$version" ]; then
  echo "install-pulumi: pulumi v$version already built in $bin"
else
  echo "install-pulumi: building pulumi v$version (cold: several minutes) ..."
  start=$SECONDS
  go_build -ldflags "-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$version" \
    -o "$stage/pulumi" github.com/pulumi/pulumi/pkg/v3/cmd/pulumi
  [ "$("$stage/pulumi" version)" = "v$version" ] || fail "the freshly built CLI does not report v$version"
  mv -f "$stage/pulumi" "$bin/pulumi"
  echo "install-pulumi: pulumi built in $((SECONDS - start))s"
fi

# --- the Node.js language host ---------------------------------------------------
# Its stamp covers the sources and the module graph, so edits trigger a rebuild.
host_stamp="$(cd "$module_dir" && cat go.mod go.sum cmd/pulumi-language-nodejs/*.go | sha256sum | cut -d' ' -f1)-v$version"
if [ -x "$bin/pulumi-language-nodejs" ] && [ "$(cat "$bin/.pulumi-language-nodejs.stamp" 2>/dev/null || true)" = "$host_stamp" ]; then
  echo "install-pulumi: pulumi-language-nodejs up to date"
else
  echo "install-pulumi: building pulumi-language-nodejs ..."
  go_build -ldflags "-s -w -X main.version=$version" -o "$stage/pulumi-language-nodejs" ./cmd/pulumi-language-nodejs
  mv -f "$stage/pulumi-language-nodejs" "$bin/pulumi-language-nodejs"
  echo "$host_stamp" >"$bin/.pulumi-language-nodejs.stamp"
fi

# --- the dynamic-provider launcher -------------------------------------------
# The engine starts `pulumi-resource-pulumi-nodejs` for pulumi.dynamic
# resources. Like the script shipped in @pulumi/pulumi, it prefers the SDK copy
# that resolves from the directory the engine starts it in (the program's), so
# provider code and program share one SDK; unlike it, it falls back to this
# checkout's copy and fails loudly instead of exiting silently.
cat >"$stage/pulumi-resource-pulumi-nodejs" <<EOF
#!/bin/sh
# Written by scripts/install-pulumi.sh; starts the @pulumi/pulumi dynamic provider.
script=\$(node -e 'try { console.log(require.resolve("@pulumi/pulumi/cmd/dynamic-provider")) } catch (e) {}')
if [ -z "\$script" ]; then
  script='$sdk_dir/cmd/dynamic-provider/index.js'
fi
if [ ! -f "\$script" ]; then
  echo "pulumi-resource-pulumi-nodejs: cannot find @pulumi/pulumi/cmd/dynamic-provider from \$(pwd) nor at \$script; run 'npm ci'" >&2
  exit 1
fi
exec node "\$script" "\$@"
EOF
chmod 0755 "$stage/pulumi-resource-pulumi-nodejs"
mv -f "$stage/pulumi-resource-pulumi-nodejs" "$bin/pulumi-resource-pulumi-nodejs"

echo "install-pulumi: ready: $bin (pulumi $("$bin/pulumi" version))"
