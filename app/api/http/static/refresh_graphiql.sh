#!/usr/bin/env bash
# Refresh the GraphiQL assets Laurel serves itself (app/api/static/graphiql/) from the npm
# registry, at the versions pinned below. The page must work with no CDN reachable, so
# every script and stylesheet it loads is a file of this directory, with its licence.
#
#   app/api/static/refresh_graphiql.sh            # fetch the pinned versions
#   GRAPHIQL=3.8.4 app/api/static/refresh_graphiql.sh   # try another graphiql
#
# Needs npm (the registry, not a CDN). Writes VERSIONS and SHA256SUMS beside the files;
# tests/api/test_graphiql.py checks the page references exactly these files.
set -euo pipefail

GRAPHIQL="${GRAPHIQL:-3.8.3}"
EXPLORER="${EXPLORER:-1.0.2}"
REACT="${REACT:-18.2.0}"
JS_COOKIE="${JS_COOKIE:-3.0.5}"

here="$(cd "$(dirname "$0")" && pwd)"
out="$here/graphiql"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

fetch() {  # fetch PACKAGE VERSION: unpack the registry's tarball into $work/PACKAGE
    local dir="$work/$1"
    mkdir -p "$dir"
    (cd "$dir" && npm pack --silent "$1@$2" >/dev/null && tar -xzf ./*.tgz)
}

fetch react "$REACT"
fetch react-dom "$REACT"
fetch js-cookie "$JS_COOKIE"
fetch graphiql "$GRAPHIQL"
fetch @graphiql/plugin-explorer "$EXPLORER"

new="$work/out"
mkdir -p "$new"
copy() {  # copy PACKAGE PATH-IN-PACKAGE NAME
    cp "$work/$1/package/$2" "$new/$3"
}
licence() {  # licence PACKAGE NAME [FROM]: the package's licence file, or FROM's
    local file
    file="$(find "$work/$1/package" -maxdepth 1 -iname 'licen[cs]e*' | head -n 1)"
    if [ -z "$file" ] && [ -n "${3:-}" ]; then
        # Published without a licence file: the licence of the repository it is built in
        # (FROM is a package of that repository that ships it), with the package's field.
        file="$(find "$work/$3/package" -maxdepth 1 -iname 'licen[cs]e*' | head -n 1)"
        {
            echo "$1 declares \"license\": \"$(node -p "require('$work/$1/package/package.json').license")\""
            echo "in its package.json and ships no licence file; it is built in the repository"
            echo "$(node -p "require('$work/$1/package/package.json').repository.url"), whose licence follows."
            echo
            cat "$file"
        } > "$new/$2"
        return
    fi
    [ -n "$file" ] || { echo "no licence file in $1" >&2; exit 1; }
    cp "$file" "$new/$2"
}

copy react umd/react.production.min.js react.production.min.js
licence react LICENSE.react
copy react-dom umd/react-dom.production.min.js react-dom.production.min.js
licence react-dom LICENSE.react-dom
copy js-cookie dist/js.cookie.min.js js.cookie.min.js
licence js-cookie LICENSE.js-cookie
copy graphiql graphiql.min.js graphiql.min.js
copy graphiql graphiql.min.css graphiql.min.css
licence graphiql LICENSE.graphiql
copy @graphiql/plugin-explorer dist/index.umd.js plugin-explorer.umd.js
copy @graphiql/plugin-explorer dist/style.css plugin-explorer.css
licence @graphiql/plugin-explorer LICENSE.plugin-explorer graphiql

cat > "$new/VERSIONS" <<VERSIONS
# Served by Laurel at /graphiql-assets/ (app/api/graphiql.py); refreshed by
# app/api/static/refresh_graphiql.sh from the npm registry.
graphiql $GRAPHIQL
@graphiql/plugin-explorer $EXPLORER
react $REACT
react-dom $REACT
js-cookie $JS_COOKIE
VERSIONS
(cd "$new" && sha256sum -- *.js *.css > SHA256SUMS)

rm -rf "$out"
mv "$new" "$out"
echo "GraphiQL assets refreshed in $out:"
sed -n 's/^\([^#]\)/  \1/p' "$out/VERSIONS"
