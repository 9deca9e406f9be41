#!/usr/bin/env bash
# Runs one bench script: bench/run.sh <name> (e.g. audit-ingest, policy-decisions).
# Compiles only that script's import graph (a work-in-progress file elsewhere in the tree
# cannot stop a bench), into a directory outside the checkout so dist/ (the CLI's build) is
# never touched; NODE_PATH points the compiled script back at this checkout's node_modules.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
name="${1:?usage: bench/run.sh <name>   (one of: $(cd "$root/bench" && ls -- *.ts | sed 's/\.ts$//' | tr '\n' ' '))}"
out="${BENCH_BUILD_DIR:-/tmp/benchbuild}"
[ -f "$root/bench/$name.ts" ] || { echo "no bench/$name.ts" >&2; exit 2; }
mkdir -p "$out"
cat >"$out/tsconfig.$name.json" <<JSON
{
  "extends": "$root/tsconfig.json",
  "compilerOptions": {
    "outDir": "$out",
    "rootDir": "$root",
    "incremental": false,
    "typeRoots": ["$root/node_modules/@types"]
  },
  "files": ["$root/bench/$name.ts"],
  "include": []
}
JSON
(cd "$root" && npx tsc -p "$out/tsconfig.$name.json")
# The runtime finds the init shim by walking up from its own compiled file to native/shim/build.
ln -sfn "$root/native" "$out/native"
# `up` starts its worker process from bin/warden.js (which runs the built dist/), found the same way.
ln -sfn "$root/bin" "$out/bin"
NODE_PATH="$root/node_modules" exec node "$out/bench/$name.js"
