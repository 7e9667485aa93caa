# Sourced by scripts/: installs the Debian packages some tests run, when missing and we are
# root: chromium and chromium-driver (the dashboard's browser tests drive them with Selenium;
# nothing is downloaded at test time) and tini (the image's init, run as PID 1 by the start-up
# tests). Otherwise it says so and goes on: those tests then skip, or fail when CI is set.
_debian_missing=()
[ -x /usr/bin/chromium ] || _debian_missing+=(chromium)
[ -x /usr/bin/chromedriver ] || _debian_missing+=(chromium-driver)
[ -x /usr/bin/tini ] || _debian_missing+=(tini)
if [ ${#_debian_missing[@]} -gt 0 ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        echo "== installing ${_debian_missing[*]}"
        { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
            --no-install-recommends "${_debian_missing[@]}" >/dev/null; } ||
            { echo "installing ${_debian_missing[*]} failed" >&2; return 1; }
    else
        echo "${_debian_missing[*]} not found and not root: the tests needing them will skip" \
            "(or fail, under CI)" >&2
    fi
fi
