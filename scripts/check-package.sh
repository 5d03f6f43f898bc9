#!/usr/bin/env bash
# Checks the package as someone who installs it gets it (#15 item 2): packs the tarball (`npm pack`, which
# runs prepack), installs it into an empty directory (its dependencies from the npm registry; `canvas`
# compiles from source where no prebuilt binary can be downloaded), and from there runs
#   downtime --version                           the installed bin, the version in package.json
#   import('downtime')                           the library entry point and its types
#   downtime report test/fixtures/small.ndjson   charts and text from a results file
#   downtime demo --quick                        local servers or containers, runs, reports, comparison
# Nothing comes from this checkout but the tarball and the fixture (test/fixtures/small.ndjson, made with
# test/helpers/synthetic.ts: 12 s, reads 20/s refused 4.2-5 s, writes 10/s read-only 4-6.5 s). `npm pack`
# rebuilds this checkout's dist/src (prepack), so run it when nothing else runs from dist/. Every step has a
# time limit; the first failure stops the check (exit 1); the temporary directory goes in every case.
#
# Usage: scripts/check-package.sh [--keep] [--no-demo]
#   --keep     leave the temporary directory (its path is printed) to look at
#   --no-demo  skip the demo (a machine without MariaDB binaries or images)
# Time limits (seconds): PACK_TIMEOUT (300), INSTALL_TIMEOUT (1200), STEP_TIMEOUT (120), DEMO_TIMEOUT (420).
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD

keep=0
demo=1
for arg in "$@"; do
  case $arg in
    --keep) keep=1 ;;
    --no-demo) demo=0 ;;
    -h | --help) sed -n '2,19s/^# \{0,1\}//p' "$0" && exit 0 ;;
    *) echo "check-package: unknown argument '$arg'" >&2 && exit 2 ;;
  esac
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/downtime-package.XXXXXX")
cleanup() {
  if [ "$keep" = 1 ]; then
    echo "check-package: kept $tmp"
  else
    rm -rf "$tmp"
  fi
}
trap cleanup EXIT

started=$SECONDS
fail() {
  echo "check-package: FAILED: $*" >&2
  exit 1
}
# step SECONDS DESCRIPTION COMMAND...: runs the command with a time limit. timeout(1) puts it in a process
# group of its own and sends TERM to all of it at the limit, but returns as soon as its child (npx) exits,
# which npx does at once on a signal, while the downtime it started may still be stopping its servers or
# containers: settle waits for the rest of that group (up to 60 s), then kills what is left.
group=
settle() {
  local until=$((SECONDS + 60))
  while [ -n "$group" ] && kill -0 -- "-$group" 2>/dev/null; do
    if [ $SECONDS -ge $until ]; then
      echo "check-package: still running 60 s after the step ended; killing it" >&2
      kill -KILL -- "-$group" 2>/dev/null || true
      break
    fi
    sleep 0.5
  done
  group=
}
interrupted() {
  if [ -n "$group" ]; then
    kill -TERM -- "-$group" 2>/dev/null || true
    settle
  fi
  echo "check-package: interrupted" >&2
  exit 130
}
trap interrupted INT TERM
step() {
  local limit=$1 what=$2 t0=$SECONDS rc=0
  shift 2
  echo "check-package: $what"
  timeout --kill-after=15 "$limit" "$@" &
  group=$!
  wait "$group" || rc=$?
  settle
  if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then fail "$what: took longer than $limit s"; fi
  [ "$rc" = 0 ] || fail "$what: exit $rc"
  echo "check-package: $what: ok ($((SECONDS - t0)) s)"
}

version=$(node -p "require('./package.json').version")
mkdir "$tmp/pack" "$tmp/app" "$tmp/out"
step "${PACK_TIMEOUT:-300}" "npm pack" npm pack --silent --pack-destination "$tmp/pack"
tarball="$tmp/pack/downtime-$version.tgz"
[ -f "$tarball" ] || fail "npm pack wrote no $tarball"
listing=$(tar -tzf "$tarball")
for f in package/dist/src/cli.js package/dist/src/index.js package/dist/src/index.d.ts \
  package/dist/src/load/worker.js package/scenarios/local-blue-green.yaml package/scripts/build-images.sh; do
  grep -qx "$f" <<<"$listing" || fail "the tarball has no $f"
done
if grep -q '\.map$' <<<"$listing"; then fail "the tarball ships source maps: $(grep '\.map$' <<<"$listing" | head -3)"; fi
if tar -xOzf "$tarball" --wildcards 'package/dist/src/*.js' | grep -q sourceMappingURL; then
  fail "the tarball's JavaScript points at source maps"
fi
echo "check-package: $(basename "$tarball"): $(wc -c <"$tarball") bytes, $(wc -l <<<"$listing") files"

# An empty directory outside the checkout: nothing resolves from the checkout's node_modules.
cd "$tmp/app"
step "${INSTALL_TIMEOUT:-1200}" "npm install $(basename "$tarball") into an empty directory" \
  npm install --no-audit --no-fund --no-save --loglevel=error "$tarball"
[ ! -e "$tmp/app/node_modules/downtime/src" ] || fail "the installed package has src/"

step "${STEP_TIMEOUT:-120}" "downtime --version" bash -c 'npx --no -- downtime --version >"$1"' _ "$tmp/out/version"
[ "$(cat "$tmp/out/version")" = "$version" ] || fail "downtime --version printed '$(cat "$tmp/out/version")', not $version"

# The library from the installed package: the entry point loads and its types resolve.
step "${STEP_TIMEOUT:-120}" "import('downtime')" node --input-type=module -e "
  const m = await import('downtime');
  for (const f of ['measure', 'analyze', 'readResults', 'renderReport', 'startSandbox']) {
    if (typeof m[f] !== 'function') throw new Error('downtime exports no function ' + f);
  }
  const types = (await import('node:module')).createRequire(import.meta.url).resolve('downtime/package.json');
  const { existsSync } = await import('node:fs');
  if (!existsSync(types.replace(/package\.json$/, 'dist/src/index.d.ts'))) throw new Error('no dist/src/index.d.ts');"

step "${STEP_TIMEOUT:-120}" "downtime report (a fixture)" \
  npx --no -- downtime report "$repo/test/fixtures/small.ndjson" --out "$tmp/out/report"
for f in report.png latency.png report.html summary.md summary.json seconds.csv; do
  [ -s "$tmp/out/report/$f" ] || fail "downtime report wrote no $f"
done
node -e "const s=require(process.argv[1]); if (!(s.downtimeMs.write > 2000)) throw new Error('summary.json: write downtime ' + s.downtimeMs.write)" \
  "$tmp/out/report/summary.json" || fail "downtime report: the fixture's 2.5 s write outage is not in summary.json"

if [ "$demo" = 1 ]; then
  step "${DEMO_TIMEOUT:-420}" "downtime demo --quick" npx --no -- downtime demo --quick --no-progress --out "$tmp/out/demo"
  [ -s "$tmp/out/demo/compare/compare.png" ] || fail "downtime demo wrote no compare/compare.png"
fi

echo "check-package: ok, $((SECONDS - started)) s in all"
