# shellcheck shell=bash
# Sourced by scripts/run, scripts/test and .ci/run: find a Python >= 3.12 and keep .venv in step
# with requirements*.txt. Not meant to be run on its own (and not to be sourced into an
# interactive shell: on failure it exits).

COMPOSER_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
COMPOSER_VENV="$COMPOSER_ROOT/.venv"

# Print a message on stderr and stop the calling script.
_die() {
    printf '\n*** %s\n\n' "$*" >&2
    exit 1
}

# Succeed when "$1" runs and is Python >= 3.12.
python_is_recent() {
    "$1" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)' >/dev/null 2>&1
}

# Print the absolute path of the first Python >= 3.12 found; fail (without exiting) if none.
find_python() {
    local candidate
    for candidate in python3.13 python3.12 python3 /root/.pyenv/versions/3.1[2-9]*/bin/python3; do
        if python_is_recent "$candidate"; then
            # Resolve pyenv shims and the like to the real interpreter.
            "$candidate" -c 'import sys; print(sys.executable)'
            return 0
        fi
    done
    echo "No Python >= 3.12 found (tried python3.13, python3.12, python3," \
         "/root/.pyenv/versions/3.1[2-9]*/bin/python3). Django 6 needs 3.12 or newer." >&2
    return 1
}

# Print a fingerprint of the given requirements files and the venv's Python version.
_requirements_stamp() {
    "$COMPOSER_VENV/bin/python" - "$@" <<'PY'
import hashlib, os, sys
digest = hashlib.sha256(sys.version.encode())
for path in sys.argv[1:]:
    with open(path, "rb") as handle:
        digest.update(os.path.basename(path).encode() + b"\0" + handle.read() + b"\0")
print(digest.hexdigest())
PY
}

# Create .venv with a Python >= 3.12 if needed, and install what `ensure_venv [run|dev]` needs
# when its requirements changed since their last successful install: `run` (scripts/run)
# requirements.txt only, `dev` (the default: scripts/test, scripts/lint) requirements-dev.txt,
# which includes it. Each has its stamp (.venv/requirements-<kind>.sha256); a dev install
# covers run too.
ensure_venv() {
    local kind="${1:-dev}" python stamp_file stamp log requirements
    requirements="$COMPOSER_ROOT/requirements-dev.txt"
    [ "$kind" = "run" ] && requirements="$COMPOSER_ROOT/requirements.txt"
    stamp_file="$COMPOSER_VENV/requirements-$kind.sha256"
    if [ -x "$COMPOSER_VENV/bin/python" ] && ! python_is_recent "$COMPOSER_VENV/bin/python"; then
        echo "Recreating .venv: its Python does not run or is older than 3.12." >&2
        rm -rf "$COMPOSER_VENV"
    fi
    if [ ! -x "$COMPOSER_VENV/bin/python" ]; then
        python="$(find_python)" || _die "Cannot create .venv: no Python >= 3.12 on this machine."
        echo "Creating .venv with $python ..." >&2
        rm -rf "$COMPOSER_VENV"
        "$python" -m venv "$COMPOSER_VENV" >/dev/null \
            || _die "Could not create .venv with $python (is its venv/ensurepip module installed?)."
    fi
    stamp="$(_requirements_stamp "$COMPOSER_ROOT/requirements.txt" "$requirements")" \
        || _die "Could not read $(basename "$requirements")."
    if [ -f "$stamp_file" ] && [ "$(cat "$stamp_file")" = "$stamp" ]; then
        return 0
    fi
    echo "Installing $(basename "$requirements") into .venv (requirements changed) ..." >&2
    log="$COMPOSER_VENV/pip-install.log"
    if ! "$COMPOSER_VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
            -r "$requirements" >"$log" 2>&1; then
        tail -n 30 "$log" >&2
        _die "pip install -r $(basename "$requirements") failed (full log: $log)."
    fi
    echo "$stamp" >"$stamp_file"
    if [ "$kind" = "dev" ]; then  # requirements-dev.txt includes requirements.txt
        _requirements_stamp "$COMPOSER_ROOT/requirements.txt" "$COMPOSER_ROOT/requirements.txt" \
            >"$COMPOSER_VENV/requirements-run.sha256"
    fi
}
