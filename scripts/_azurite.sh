# Sourced by scripts/: installs Azurite (the Azure Storage emulator the Azure store tests run
# against) into node_modules/ when missing or at another version. Without npm it says so and goes
# on: those tests then skip, or fail when CI is set.
_azurite_version=3.35.0 # the newest release that runs on Node 20 (3.36 needs Node 21 or later)
if ! grep -qs "\"version\": \"$_azurite_version\"" node_modules/azurite/package.json ||
    [ ! -x node_modules/.bin/azurite ]; then
    if command -v npm >/dev/null; then
        echo "== installing azurite@$_azurite_version into node_modules/"
        npm install --prefix . --no-save --no-audit --no-fund --loglevel=error \
            "azurite@$_azurite_version" >/dev/null ||
            { echo "installing Azurite failed" >&2; return 1; }
    else
        echo "npm not found: the Azure store tests will skip (or fail, under CI)" >&2
    fi
fi
