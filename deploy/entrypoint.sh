#!/bin/sh
# Container entrypoint: a clean Prometheus multiprocess directory, then the command.
# Files left by a previous run of this container would be summed into this run's metrics.
set -eu
if [ -n "${PROMETHEUS_MULTIPROC_DIR:-}" ]; then
    mkdir -p "$PROMETHEUS_MULTIPROC_DIR"
    find "$PROMETHEUS_MULTIPROC_DIR" -mindepth 1 -delete
fi
# On ECS, the load balancer's health checks send the task's private IP as Host, which
# ALLOWED_HOSTS would refuse: allow that one address (from the task metadata endpoint).
if [ -n "${ECS_CONTAINER_METADATA_URI_V4:-}" ] && [ -n "${ALLOWED_HOSTS:-}" ]; then
    task_ip=$(python -c 'import json, os, urllib.request as u
print(json.load(u.urlopen(os.environ["ECS_CONTAINER_METADATA_URI_V4"], timeout=3))["Networks"][0]["IPv4Addresses"][0])' 2>/dev/null || true)
    if [ -n "$task_ip" ]; then
        export ALLOWED_HOSTS="$ALLOWED_HOSTS,$task_ip"
    fi
fi
exec "$@"
