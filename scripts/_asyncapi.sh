# Sourced by scripts/: installs the AsyncAPI project's own parser (npm @asyncapi/parser), which
# the tests validate `beehive asyncapi` documents with, into .asyncapi/ when missing or at another
# version. It has a prefix of its own because npm removes from node_modules/ whatever that one
# install did not ask for (Azurite). Without npm it says so and goes on: those tests then skip,
# or fail when CI is set.
_asyncapi_version=3.6.6
# 3.6.6 declares no engines itself; its dependencies need Node 20.17 or later on the 20 line
# (@stoplight/spectral-core 1.24: ^18.18 || >= 20.17; jsep 1.6: >= 20.16). Tested on 20.20.
if ! grep -qs "\"version\": \"$_asyncapi_version\"" \
    .asyncapi/node_modules/@asyncapi/parser/package.json; then
    if command -v npm >/dev/null; then
        echo "== installing @asyncapi/parser@$_asyncapi_version into .asyncapi/"
        mkdir -p .asyncapi
        npm install --prefix .asyncapi --no-save --no-audit --no-fund --loglevel=error \
            "@asyncapi/parser@$_asyncapi_version" >/dev/null ||
            { echo "installing @asyncapi/parser failed" >&2; return 1; }
    else
        echo "npm not found: the AsyncAPI validation tests will skip (or fail, under CI)" >&2
    fi
fi
