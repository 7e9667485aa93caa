# Sourced by scripts/ (and by tests/deploy): a separate .venv-tools holding checkov, whose pins
# (packaging<24 among them) conflict with the project's own test tools in .venv.
_tools_pin="checkov==3.3.30"
_tools_stamp=.venv-tools/.installed-$(echo "$_tools_pin" | sha256sum | cut -c1-16)
if [ ! -f "$_tools_stamp" ]; then
    { [ -x .venv-tools/bin/python ] || "${PYTHON:-python3}" -m venv .venv-tools; } &&
        .venv-tools/bin/python -m pip install --quiet --upgrade pip &&
        .venv-tools/bin/python -m pip install --quiet "$_tools_pin" &&
        rm -f .venv-tools/.installed-* &&
        echo "*" > .venv-tools/.gitignore &&
        touch "$_tools_stamp" || { echo "setting up .venv-tools failed" >&2; return 1; }
fi
