# Sourced by scripts/: makes sure the machine's PostgreSQL answers on 127.0.0.1:5432 (the
# PostgreSQL store tests run against it), starting its cluster when it is installed but stopped.
# Without PostgreSQL it says so and goes on: those tests then skip, or fail when CI is set.
if command -v pg_isready >/dev/null && ! pg_isready -q -h 127.0.0.1 -p 5432; then
    echo "== starting PostgreSQL"
    for _pg_version in $(ls /etc/postgresql 2>/dev/null); do
        pg_ctlcluster --skip-systemctl-redirect "$_pg_version" main start || true
    done
    for _ in $(seq 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
    pg_isready -q -h 127.0.0.1 -p 5432 || echo "PostgreSQL did not start: its tests will skip (or fail, under CI)" >&2
elif ! command -v pg_isready >/dev/null; then
    echo "PostgreSQL not found: the PostgreSQL store tests will skip (or fail, under CI)" >&2
fi
