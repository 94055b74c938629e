#!/usr/bin/env bash
# Compiles the TypeScript (npm run build) unless the last successful build is newer than every
# file the program is made of, so a Pulumi command does not pay for a compile with nothing to
# do. tsc's own incremental mode still spends seconds reading every file; this check takes
# milliseconds. Run from the project folder.
set -euo pipefail
stamp=dist/.build-stamp
sources=(index.ts providers lib sim bench test package.json package-lock.json tsconfig.json)
if [ -f "$stamp" ] && [ -z "$(find "${sources[@]}" -newer "$stamp" -print -quit 2>/dev/null)" ]; then
  exit 0
fi
# Stamped with the time the build started: a file saved while tsc runs is newer and rebuilds next time.
mkdir -p dist
touch "$stamp.next"
npm run --silent build
mv "$stamp.next" "$stamp"
