#!/usr/bin/env bash
# Builds actionlint (the GitHub Actions workflow linter) at the release pinned
# in scripts/env.sh from the Go module proxy into $FLEET_ACTIONLINT_BIN, so CI
# workflow files can be checked on machines without internet access.
# `go install module@version` verifies every download against the public
# checksum database. Skipped when the binary already reports the pinned
# version; a cold build takes well under a minute.
# Needs: go.
set -euo pipefail

# shellcheck source=scripts/env.sh
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"

version="$FLEET_ACTIONLINT_VERSION"
bin="$FLEET_ACTIONLINT_BIN"

fail() { echo "install-actionlint: $*" >&2; exit 1; }

command -v go >/dev/null || fail "go is not on PATH; install Go first"

if [ "$("$bin/actionlint" -version 2>/dev/null | head -n1 || true)" = "v$version" ]; then
  echo "install-actionlint: actionlint v$version already built in $bin"
  exit 0
fi

echo "install-actionlint: building actionlint v$version ..."
start=$SECONDS
mkdir -p "$bin"
stage="$(mktemp -d "$bin/.build.XXXXXX")"
trap 'rm -rf "$stage"' EXIT
# Run outside any module so the pinned release's own go.mod decides its dependencies.
(cd "$stage" && GOBIN="$stage" go install -trimpath -ldflags "-s -w" \
  "github.com/rhysd/actionlint/cmd/actionlint@v$version")
[ "$("$stage/actionlint" -version | head -n1)" = "v$version" ] ||
  fail "the freshly built actionlint does not report v$version"
mv -f "$stage/actionlint" "$bin/actionlint"
echo "install-actionlint: built in $((SECONDS - start))s: $bin/actionlint"
