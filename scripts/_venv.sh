# Sourced by scripts/ with what to set up in .venv:
#   sample  the package alone, what scripts/prismo needs (no dev tools);
#   test    the package with the dev, docs, rabbitmq, azure, azure-functions, aws and postgres
#           extras, for scripts/test.
# Each has its own stamp, renewed when pyproject.toml changes; a test setup covers the sample.
_venv_kind=${1:?"usage: source scripts/_venv.sh sample|test"}
case $_venv_kind in
    sample) _venv_target="." ;;
    test) _venv_target=".[dev,docs,rabbitmq,azure,azure-functions,aws,postgres]" ;;
    *) echo "scripts/_venv.sh: unknown setup $_venv_kind (sample or test)" >&2; return 2 ;;
esac
_venv_hash=$(sha256sum pyproject.toml | cut -c1-16)
_stamp=.venv/.installed-$_venv_kind-$_venv_hash

# Shows pip's progress one line per package, not its whole chatter; its errors go to a log,
# shown when the set-up fails (an interruption is one line of ours instead).
_venv_pip() {
    .venv/bin/python -m pip install --disable-pip-version-check "$@" 2>>"$_venv_log" |
        sed -un -e 's/^Obtaining .*/  building beehive (editable)/p' \
            -e 's/^Collecting \([A-Za-z0-9._-]*\).*/  collecting \1/p' \
            -e 's/^Processing .*\/\([A-Za-z0-9_.]*\)-[0-9][^/]*\.whl.*/  collecting \1/p' \
            -e 's/^Installing collected packages: .*/  installing/p' \
            -e 's/^Successfully installed .*/  installed/p' >&2
}

if [ ! -f "$_stamp" ]; then
    echo "Setting up .venv for the $_venv_kind (first run, or pyproject.toml changed):" >&2
    _venv_log=$(mktemp)
    _venv_interrupted() {
        rm -f "$_venv_log"
        echo "scripts: interrupted while setting up .venv; run it again to finish" >&2
        exit 130
    }
    # pip and venv catch Ctrl-C themselves and exit 1 (so bash runs no trap): their log tells.
    trap _venv_interrupted INT
    {
        if [ ! -x .venv/bin/python ]; then
            echo "  creating .venv" >&2 && "${PYTHON:-python3}" -m venv .venv 2>>"$_venv_log"
        fi
    } && {
        [ "$_venv_kind" = sample ] || _venv_pip --upgrade pip
    } && _venv_pip -e "$_venv_target" &&
        rm -f .venv/.installed-"$_venv_kind"-* &&
        touch "$_stamp" || {
        grep -qs -e "Operation cancelled by user" -e KeyboardInterrupt "$_venv_log" &&
            _venv_interrupted
        tail -n 20 "$_venv_log" >&2
        rm -f "$_venv_log"
        echo "setting up .venv failed" >&2
        return 1
    }
    trap - INT
    rm -f "$_venv_log"
    if [ "$_venv_kind" = test ]; then
        rm -f .venv/.installed-sample-* && touch ".venv/.installed-sample-$_venv_hash"
    fi
    echo "  .venv is ready" >&2
fi
