#!/usr/bin/env bash
# Refresh the vendored front-end files in static/vendor/ from the npm packages
# pinned in static/vendor/VERSIONS ("package@version" per line).
#
# For each package: `npm pack PACKAGE@VERSION` in a temporary directory, extract
# the tarball, copy only the files the app needs plus the package's license
# file(s) into static/vendor/<short-name>/ (replacing what was there), clean up.
# Nothing is downloaded other than what `npm pack` fetches by package name.
#
# Usage: bash scripts/vendor.sh        (from anywhere)
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

VENDOR_DIR=static/vendor
MANIFEST="$VENDOR_DIR/VERSIONS"

die() { echo "vendor.sh: $*" >&2; exit 1; }

command -v npm >/dev/null 2>&1 || die "npm is required (apt-get install npm)"
command -v tar >/dev/null 2>&1 || die "tar is required"
[[ -f "$MANIFEST" ]] || die "missing manifest $MANIFEST"

# short_name PACKAGE -> directory name under static/vendor/
short_name() {
    case "$1" in
        htmx.org) echo htmx ;;
        sortablejs) echo sortable ;;
        swagger-ui-dist) echo swagger-ui ;;
        redoc) echo redoc ;;
        axe-core) echo axe-core ;;
        *) die "no file mapping for package '$1'; add it to short_name/wanted_files in $0" ;;
    esac
}

# wanted_files PACKAGE -> "path/in/package[:dest-name]" lines (license files are
# found separately). Third-party license notices that the bundles point to are
# kept next to them.
wanted_files() {
    case "$1" in
        htmx.org)
            echo dist/htmx.min.js:htmx.min.js ;;
        sortablejs)
            echo Sortable.min.js ;;
        swagger-ui-dist)
            printf '%s\n' \
                swagger-ui.css \
                swagger-ui-bundle.js \
                swagger-ui-bundle.js.LICENSE.txt \
                swagger-ui-standalone-preset.js \
                swagger-ui-standalone-preset.js.LICENSE.txt \
                favicon-32x32.png ;;
        redoc)
            printf '%s\n' \
                bundles/redoc.standalone.js:redoc.standalone.js \
                bundles/redoc.standalone.js.LICENSE.txt:redoc.standalone.js.LICENSE.txt ;;
        axe-core)
            printf '%s\n' axe.min.js LICENSE-3RD-PARTY.txt ;;
        *) die "no file mapping for package '$1'" ;;
    esac
}

work="$(mktemp -d "${TMPDIR:-/tmp}/taskboard-vendor.XXXXXX")"
trap 'rm -rf "$work"' EXIT

vendor_one() {
    local spec="$1"
    local pkg="${spec%@*}" version="${spec##*@}"
    [[ -n "$pkg" && -n "$version" && "$pkg" != "$spec" ]] \
        || die "bad manifest line '$spec' (expected package@version)"
    local name; name="$(short_name "$pkg")"

    local pkdir="$work/$name"
    mkdir -p "$pkdir"
    echo "==> $pkg@$version -> $VENDOR_DIR/$name/"
    local tgz
    if ! tgz="$(cd "$pkdir" && npm pack "$pkg@$version" --ignore-scripts --loglevel=error 2>"$work/npm.err")"; then
        cat "$work/npm.err" >&2
        die "npm pack $pkg@$version failed"
    fi
    tgz="$(printf '%s\n' "$tgz" | tail -n 1)"
    [[ -n "$tgz" && -f "$pkdir/$tgz" ]] || { cat "$work/npm.err" >&2; die "npm pack $pkg@$version produced no tarball"; }
    tar -xzf "$pkdir/$tgz" -C "$pkdir" --no-same-owner
    local src="$pkdir/package"
    [[ -d "$src" ]] || die "$tgz has no package/ directory"

    # Sanity check: the tarball is the version we asked for.
    local got
    got="$(node -p 'require(process.argv[1]).version' "$src/package.json" 2>/dev/null || true)"
    if [[ -n "$got" && "$got" != "$version" ]]; then
        die "$pkg: asked for $version, tarball says $got"
    fi

    # Stage into a fresh directory, then swap it in, so a failure never leaves
    # a half-updated vendor directory behind.
    local stage="$work/stage-$name"
    mkdir -p "$stage"

    local entry from to
    while IFS= read -r entry; do
        from="${entry%%:*}"
        if [[ "$entry" == *:* ]]; then to="${entry#*:}"; else to="$(basename "$from")"; fi
        [[ -f "$src/$from" ]] || die "$pkg@$version: expected file '$from' not found in tarball"
        install -m 0644 "$src/$from" "$stage/$to"
    done < <(wanted_files "$pkg")

    # The package's own license (LICENSE, LICENSE.md, LICENSE.txt, license, ...)
    # and NOTICE, if present, at the package root.
    local f base found_license=0
    for f in "$src"/*; do
        [[ -f "$f" ]] || continue
        base="$(basename "$f")"
        shopt -s nocasematch
        if [[ "$base" =~ ^licen[cs]e(\.(md|txt|markdown))?$ ]]; then
            found_license=1
            install -m 0644 "$f" "$stage/$base"
        elif [[ "$base" =~ ^notice(\.(md|txt))?$ ]]; then
            install -m 0644 "$f" "$stage/$base"
        fi
        shopt -u nocasematch
    done
    [[ "$found_license" == 1 ]] || die "$pkg@$version: no LICENSE file found in tarball"

    local_patches "$pkg" "$stage"
    rm -rf "${VENDOR_DIR:?}/$name"
    mv "$stage" "$VENDOR_DIR/$name"
    chmod 0755 "$VENDOR_DIR/$name"
    rm -rf "$pkdir"
    for f in "$VENDOR_DIR/$name"/*; do echo "    ${f##*/}"; done
}

# local_patches PACKAGE DIR: the only edits made to vendored files, applied to the copies.
local_patches() {
    case "$1" in
        redoc)
            # ReDoc 2 always loads a sidebar logo from its maker's server; under the docs
            # page's CSP that request is blocked and logged as a console error. An empty
            # inline SVG takes its place.
            local js="$2/redoc.standalone.js" logo="https://cdn.redoc.ly/redoc/logo-mini.svg"
            grep -qF "$logo" "$js" || die "redoc: logo URL to patch not found; review local_patches"
            sed -i "s#${logo//./\\.}#data:image/svg+xml,%3Csvg xmlns=%22http://www.w3.org/2000/svg%22/%3E#g" "$js"
            ;;
    esac
}

count=0
while IFS= read -r line || [[ -n "$line" ]]; do
    line="${line%%#*}"                     # strip comments
    line="${line//[[:space:]]/}"           # strip whitespace
    [[ -z "$line" ]] && continue
    vendor_one "$line"
    count=$((count + 1))
done < "$MANIFEST"

[[ "$count" -gt 0 ]] || die "no packages listed in $MANIFEST"
echo "Vendored $count package(s) into $VENDOR_DIR/."
