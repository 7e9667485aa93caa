# Sourced by scripts/: installs Debian's chromium and chromium-driver (the dashboard's browser
# tests drive them with Selenium; nothing is downloaded at test time) when missing and we are
# root. Otherwise it says so and goes on: those tests then skip, or fail when CI is set.
if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        echo "== installing chromium and chromium-driver"
        { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
            --no-install-recommends chromium chromium-driver >/dev/null; } ||
            { echo "installing chromium failed" >&2; return 1; }
    else
        echo "chromium not found and not root: the browser tests will skip (or fail, under CI)" >&2
    fi
fi
