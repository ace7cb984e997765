#!/usr/bin/env bash
# `make test-dates`: the SQLite half of the suite (every test that is not about PostgreSQL)
# again under libfaketime, once per offset in DATE_OFFSETS (days ahead of the real date), so
# a test that depends on the real date fails now and not on a later day.
#
# The offsets run side by side, each with a Redis server of its own on a free port (a test
# pauses its Redis server with CLIENT PAUSE, which would stall the other run), started
# without libfaketime, as a separate server keeps its own clock. Each run's output is
# printed whole once all are done. Usage: tests/dates.sh PYTHON [pytest args...]
set -euo pipefail
python=$1; shift
offsets=${DATE_OFFSETS:-45 400}
logs=var/test-dates
mkdir -p "$logs"
command -v faketime >/dev/null || { echo "make test-dates needs faketime (apt-get install faketime)"; exit 2; }

servers=()
cleanup() { for pid in "${servers[@]}"; do kill "$pid" 2>/dev/null || true; done; }
trap cleanup EXIT

free_port() { "$python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

runs=()
for days in $offsets; do
    redis_url=${LAUREL_TEST_REDIS_URL:-redis://127.0.0.1:6379/0}
    if command -v redis-server >/dev/null; then
        port=$(free_port)
        redis-server --port "$port" --bind 127.0.0.1 --save "" --appendonly no \
            --dir "$logs" >"$logs/redis-$days.log" 2>&1 &
        servers+=($!)
        for _ in $(seq 50); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.1; done
        redis_url=redis://127.0.0.1:$port/0
    fi
    (
        rc=0
        LAUREL_TEST_REDIS_URL=$redis_url faketime "+$days days" \
            "$python" -m pytest -p no:cacheprovider -k "not postgres" "$@" \
            >"$logs/$days.log" 2>&1 || rc=$?
        echo "$rc" >"$logs/$days.rc"
    ) &
    runs+=($!)
done
wait "${runs[@]}"

failed=0
for days in $offsets; do
    echo "== the suite's SQLite half with the clock $days days ahead: $(faketime "+$days days" date -u +%F)"
    cat "$logs/$days.log"
    [[ $(cat "$logs/$days.rc") == 0 ]] || failed=1
done
exit $failed
