# Sourced by scripts/: creates .venv and installs the project with its extras when missing or stale.
_stamp=.venv/.installed-$(sha256sum pyproject.toml | cut -c1-16)
if [ ! -f "$_stamp" ]; then
    { [ -x .venv/bin/python ] || "${PYTHON:-python3}" -m venv .venv; } &&
        .venv/bin/python -m pip install --quiet --upgrade pip &&
        .venv/bin/python -m pip install --quiet -e ".[dev,rabbitmq,azure]" &&
        rm -f .venv/.installed-* &&
        touch "$_stamp" || { echo "setting up .venv failed" >&2; return 1; }
fi
