# Sourced by scripts/: creates .venv and installs the project with its extras when missing or stale.
python=${PYTHON:-python3}
stamp=.venv/.installed-$(sha256sum pyproject.toml | cut -c1-16)
if [ ! -f "$stamp" ]; then
    [ -x .venv/bin/python ] || "$python" -m venv .venv
    .venv/bin/python -m pip install --quiet --upgrade pip
    .venv/bin/python -m pip install --quiet -e ".[dev,rabbitmq,azure]"
    rm -f .venv/.installed-*
    touch "$stamp"
fi
