#!/bin/sh
# Container entrypoint: a clean Prometheus multiprocess directory, then the command.
# Files left by a previous run of this container would be summed into this run's metrics.
set -eu
if [ -n "${PROMETHEUS_MULTIPROC_DIR:-}" ]; then
    mkdir -p "$PROMETHEUS_MULTIPROC_DIR"
    find "$PROMETHEUS_MULTIPROC_DIR" -mindepth 1 -delete
fi
exec "$@"
