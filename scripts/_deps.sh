# shellcheck shell=bash
# Sourced by scripts/run and scripts/test: install the machine packages and the npm toolchain
# the project needs when they are missing. Not meant to be run on its own.

DEPS_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

# Install Debian's "$2" with apt-get unless "$1" is executable. In CI a failed install stops
# the run; elsewhere it warns and whatever needs the package fails later.
ensure_debian_package() {
    local binary="$1" package="$2" sudo="" log
    [ -x "$binary" ] && return 0
    if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1; then sudo="sudo"; fi
    log="$(mktemp -t "$package-install.XXXXXX")"
    echo "Installing Debian's $package (apt-get) ..." >&2
    # policy-rc.d 101: install the package without starting its service (nginx would take :80).
    if { printf '#!/bin/sh\nexit 101\n' | $sudo tee /usr/sbin/policy-rc.d >/dev/null \
         && $sudo chmod +x /usr/sbin/policy-rc.d \
         && $sudo apt-get update -qq \
         && $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$package"; } \
         >"$log" 2>&1 && [ -x "$binary" ]; then
        $sudo rm -f /usr/sbin/policy-rc.d
        rm -f "$log"
        return 0
    fi
    $sudo rm -f /usr/sbin/policy-rc.d
    tail -n 20 "$log" >&2
    if [ "${CI:-}" = "true" ]; then
        echo "==================================================================" >&2
        echo " ERROR: could not install $package ($binary)." >&2
        echo " apt-get log: $log" >&2
        echo "==================================================================" >&2
        exit 1
    fi
    echo "WARNING: could not install $package ($binary); what needs it will fail." \
         "Install it with: apt-get install -y $package (log: $log)" >&2
}

# Install Node.js and npm (Debian's) and the generation toolchain's pinned npm packages
# (`npm ci` in toolchain/) when its package-lock.json changed since the last install.
ensure_toolchain() {
    ensure_npm_folder toolchain "the generation toolchain"
}

# Install the pinned npm packages of folder "$1" (`npm ci` there), described as "$2", when
# its package-lock.json changed since the last install; Node.js and npm (Debian's) first.
ensure_npm_folder() {
    local dir="$DEPS_ROOT/$1" stamp_file stamp log
    stamp_file="$dir/node_modules/.package-lock.sha256"
    if ! command -v node >/dev/null 2>&1; then ensure_debian_package /usr/bin/node nodejs; fi
    if ! command -v npm >/dev/null 2>&1; then ensure_debian_package /usr/bin/npm npm; fi
    command -v npm >/dev/null 2>&1 || return 0  # warned above; what needs it says what is missing
    stamp="$(sha256sum "$dir/package-lock.json" | cut -d' ' -f1)"
    if [ -f "$stamp_file" ] && [ "$(cat "$stamp_file")" = "$stamp" ]; then
        return 0
    fi
    echo "Installing $2 (npm ci in $1/) ..." >&2
    log="$(mktemp -t "${1//\//-}-npm-ci.XXXXXX")"
    if ! (cd "$dir" && npm ci --no-audit --no-fund --ignore-scripts) >"$log" 2>&1; then
        tail -n 30 "$log" >&2
        printf '\n*** npm ci in %s/ failed (log: %s)\n\n' "$1" "$log" >&2
        exit 1
    fi
    rm -f "$log"
    echo "$stamp" >"$stamp_file"
}
