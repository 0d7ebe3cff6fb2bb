"""deploy/ checked for syntax and structure (no container engine here), and structured logs.

Docker and Kubernetes cannot run on the development machine, so these tests hold the
files to what the README promises: every service, probe, volume and variable in place.
"""

from __future__ import annotations

import io
import json
import logging
import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import structlog
import yaml
from django.conf import settings
from django.test import Client
from django.urls import Resolver404, resolve
from django_tenants.utils import schema_context

from config.logging import build_formatter, log_format
from config.request_context import REQUEST_ID_HEADER
from tenants.celery_signals import bind_log_context, leave_task
from tests.conftest import TenantHandle
from tests.monitoring_series import EXPORTER_SERIES, application_series, metric_names

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
# The 2-core machine class: no container may ask for more than the whole machine.
MAX_CPU_CORES = 2.0


def _k8s_objects() -> list[dict[str, Any]]:
    objects: list[dict[str, Any]] = []
    for path in sorted((DEPLOY / "k8s").glob("*.yaml")):
        if path.name == "kustomization.yaml":
            continue
        for document in yaml.safe_load_all(path.read_text()):
            if document:
                document["__file__"] = path.name
                objects.append(document)
    return objects


def _one(objects: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    found = [o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name]
    assert len(found) == 1, f"expected one {kind} {name}, found {len(found)}"
    return found[0]


def _cpu_cores(value: str | int | float) -> float:
    text = str(value)
    return float(text[:-1]) / 1000 if text.endswith("m") else float(text)


def _documented_variables() -> list[str]:
    """Variable names in the first column of docs/configuration.md's tables."""
    names: list[str] = []
    for line in (ROOT / "docs" / "configuration.md").read_text().splitlines():
        if line.startswith("| `"):
            names += re.findall(r"`([A-Z][A-Z0-9_]+)`", line.split("|")[1])
    return names


# --- docker ---------------------------------------------------------------------------------


def test_dockerfile_builds_a_non_root_gunicorn_image_with_a_healthcheck() -> None:
    text = (DEPLOY / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.11-slim\b", text, re.MULTILINE)
    assert "requirements/base.txt" in text
    assert "collectstatic --noinput" in text
    users = re.findall(r"^USER (\S+)", text, re.MULTILINE)
    assert users, "the image must switch to a non-root user"
    assert not users[-1].startswith(("root", "0")), "the image must not run as root"
    assert re.search(r"^HEALTHCHECK .*\n?.*?/health/live", text, re.MULTILINE)
    assert "deploy/gunicorn.conf.py" in text
    assert "OPENBLAS_CORETYPE" in text
    entrypoint = DEPLOY / "entrypoint.sh"
    assert entrypoint.read_text().startswith("#!/bin/sh")
    assert os.access(entrypoint, os.X_OK)


def test_dockerignore_keeps_secrets_and_local_data_out_of_the_image() -> None:
    ignored = (ROOT / ".dockerignore").read_text().split()
    for entry in (".venv", "var", ".git", "deploy/.env.prod", ".env"):
        assert entry in ignored


def test_compose_runs_every_process_against_postgres_and_redis() -> None:
    compose = yaml.safe_load((DEPLOY / "docker-compose.prod.yml").read_text())
    services = compose["services"]
    assert {"web", "worker", "beat", "migrate", "postgres", "redis"} <= set(services)
    assert services["postgres"]["image"].startswith("postgres:15")
    assert services["redis"]["image"].startswith("redis:7")

    worker = " ".join(services["worker"]["command"])
    assert worker.startswith("celery -A config worker")
    assert "-Q" not in worker  # a plain worker consumes every declared queue
    assert " ".join(services["beat"]["command"]).startswith("celery -A config beat")
    assert "deploy/gunicorn.conf.py" in services["web"]["command"]
    migrate = " ".join(services["migrate"]["command"])
    assert "migrate_schemas --noinput --executor=multiprocessing" in migrate

    for name in ("web", "worker", "beat", "migrate"):
        assert services[name]["env_file"] == [".env.prod"]
    for name in ("web", "worker"):
        assert services[name]["depends_on"]["migrate"]["condition"] == (
            "service_completed_successfully"
        )
    # Web and worker share the same uploaded files and index files.
    assert (
        set(services["web"]["volumes"])
        == set(services["worker"]["volumes"])
        == {
            "media:/data/media",
            "indexes:/data/indexes",
        }
    )
    assert {"media", "indexes", "pgdata"} <= set(compose["volumes"])


def test_env_example_lists_every_documented_variable() -> None:
    example = (DEPLOY / "env.prod.example").read_text()
    documented = _documented_variables()
    assert len(documented) > 20, "docs/configuration.md's tables were not found"
    missing = [
        name for name in documented if not re.search(rf"^(# )?{name}=", example, re.MULTILINE)
    ]
    assert not missing, f"deploy/env.prod.example lacks {missing}"
    values = dict(
        line.split("=", 1) for line in example.splitlines() if line and not line.startswith("#")
    )
    assert values["DJANGO_ENV"] == "production"
    assert values["MEDIA_ROOT"] == "/data/media"
    assert values["INDEX_ROOT"] == "/data/indexes"


# --- kubernetes -----------------------------------------------------------------------------


def test_k8s_objects_are_complete_and_namespace_less() -> None:
    objects = _k8s_objects()
    kinds = sorted(o["kind"] for o in objects)
    assert kinds == sorted(
        [
            "ConfigMap",
            "CronJob",
            "Deployment",
            "Deployment",
            "Deployment",
            "HorizontalPodAutoscaler",
            "Ingress",
            "Job",
            "PersistentVolumeClaim",
            "PodDisruptionBudget",
            "PodDisruptionBudget",
            "ScaledObject",
            "Secret",
            "Service",
        ]
    )
    for obj in objects:
        assert obj.get("apiVersion"), obj["__file__"]
        assert obj["metadata"].get("name"), obj["__file__"]
        assert "namespace" not in obj["metadata"], f"{obj['__file__']} sets a namespace"
        if obj["kind"] in {"Deployment", "Job", "CronJob"}:
            spec = obj["spec"]["jobTemplate"]["spec"] if obj["kind"] == "CronJob" else obj["spec"]
            template = spec["template"]
            if obj["kind"] == "Deployment":
                selector = obj["spec"]["selector"]["matchLabels"]
                assert selector.items() <= template["metadata"]["labels"].items()
            for container in template["spec"]["containers"]:
                resources = container["resources"]
                for key in ("cpu", "memory"):
                    assert resources["requests"][key]
                    assert resources["limits"][key]
                assert _cpu_cores(resources["limits"]["cpu"]) <= MAX_CPU_CORES
                assert container["securityContext"]["allowPrivilegeEscalation"] is False
            assert template["spec"]["securityContext"]["runAsNonRoot"] is True


def test_k8s_wiring_between_objects() -> None:
    objects = _k8s_objects()
    config = _one(objects, "ConfigMap", "di-platform-config")
    secret = _one(objects, "Secret", "di-platform-secrets")
    assert {"SECRET_KEY", "DATABASE_URL", "REDIS_URL"} <= set(secret["stringData"])
    assert not {"SECRET_KEY", "DATABASE_URL", "OPENAI_API_KEY"} & set(config["data"])
    claim = _one(objects, "PersistentVolumeClaim", "di-platform-data")
    assert claim["spec"]["accessModes"] == ["ReadWriteMany"]

    for obj in objects:
        if obj["kind"] not in {"Deployment", "Job"}:
            continue
        pod = obj["spec"]["template"]["spec"]
        claims = {
            volume["persistentVolumeClaim"]["claimName"]
            for volume in pod["volumes"]
            if "persistentVolumeClaim" in volume
        }
        assert claims <= {"di-platform-data"}
        for container in pod["containers"]:
            refs = {next(iter(ref.values()))["name"] for ref in container["envFrom"]}
            assert refs == {"di-platform-config", "di-platform-secrets"}

    web = _one(objects, "Deployment", "di-platform-web")
    worker = _one(objects, "Deployment", "di-platform-worker")
    for deployment in (web, worker):
        mounts = deployment["spec"]["template"]["spec"]["containers"][0]["volumeMounts"]
        assert {"name": "data", "mountPath": "/data"} in mounts
    service = _one(objects, "Service", "di-platform-web")
    assert service["spec"]["selector"].items() <= (
        web["spec"]["template"]["metadata"]["labels"].items()
    )
    hpa = _one(objects, "HorizontalPodAutoscaler", "di-platform-web")
    assert hpa["spec"]["scaleTargetRef"] == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": "di-platform-web",
    }
    assert hpa["spec"]["minReplicas"] >= 2

    kustomization = yaml.safe_load((DEPLOY / "k8s" / "kustomization.yaml").read_text())
    assert "secret.example.yaml" not in kustomization["resources"]
    for resource in kustomization["resources"]:
        assert (DEPLOY / "k8s" / resource).is_file()


def test_k8s_web_probes_use_the_public_host() -> None:
    objects = _k8s_objects()
    public_domain = _one(objects, "ConfigMap", "di-platform-config")["data"]["PUBLIC_DOMAIN"]
    container = _one(objects, "Deployment", "di-platform-web")["spec"]["template"]["spec"][
        "containers"
    ][0]
    assert container["readinessProbe"]["httpGet"]["path"] == "/health/ready"
    assert container["livenessProbe"]["httpGet"]["path"] == "/health/live"
    for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
        headers = container[probe]["httpGet"]["httpHeaders"]
        assert {"name": "Host", "value": public_domain} in headers


def test_k8s_processes_worker_beat_and_migrate() -> None:
    objects = _k8s_objects()
    worker = _one(objects, "Deployment", "di-platform-worker")
    args = " ".join(worker["spec"]["template"]["spec"]["containers"][0]["args"])
    assert args.startswith("celery -A config worker")
    assert "-Q" not in args  # a plain worker consumes every declared queue

    beat = _one(objects, "Deployment", "di-platform-beat")
    assert beat["spec"]["replicas"] == 1
    assert beat["spec"]["strategy"] == {"type": "Recreate"}
    beat_args = " ".join(beat["spec"]["template"]["spec"]["containers"][0]["args"])
    assert beat_args.startswith("celery -A config beat")

    job = _one(objects, "Job", "di-platform-migrate")
    assert job["spec"]["template"]["spec"]["restartPolicy"] == "Never"
    job_args = job["spec"]["template"]["spec"]["containers"][0]["args"]
    assert job_args == [
        "python",
        "manage.py",
        "migrate_schemas",
        "--noinput",
        "--executor=multiprocessing",
    ]


def _labels(objects: list[dict[str, Any]], deployment: str) -> dict[str, str]:
    return dict(_one(objects, "Deployment", deployment)["spec"]["template"]["metadata"]["labels"])


def test_k8s_ingress_serves_the_operator_host_and_every_tenant_over_tls() -> None:
    objects = _k8s_objects()
    config = _one(objects, "ConfigMap", "di-platform-config")["data"]
    ingress = _one(objects, "Ingress", "di-platform")
    assert ingress["metadata"]["annotations"]["cert-manager.io/cluster-issuer"]
    hosts = [rule["host"] for rule in ingress["spec"]["rules"]]
    assert sorted(hosts) == sorted([config["PUBLIC_DOMAIN"], f"*.{config['TENANT_BASE_DOMAIN']}"])
    (tls,) = ingress["spec"]["tls"]
    assert set(tls["hosts"]) == set(hosts)
    assert tls["secretName"]
    service = _one(objects, "Service", "di-platform-web")
    port_names = {port["name"] for port in service["spec"]["ports"]}
    routed: dict[str, list[str]] = {}
    for rule in ingress["spec"]["rules"]:
        for path in rule["http"]["paths"]:
            assert path["pathType"] == "Prefix"
            assert path["backend"]["service"]["name"] == service["metadata"]["name"]
            assert path["backend"]["service"]["port"]["name"] in port_names
            routed.setdefault(rule["host"], []).append(path["path"])
    # Tenants' hosts: everything, and the tenant URLconf serves no metrics.
    assert routed[f"*.{config['TENANT_BASE_DOMAIN']}"] == ["/"]
    with pytest.raises(Resolver404):
        resolve("/metrics", urlconf="config.urls_tenant")
    # The operator host: admin, static files (whitenoise serves them before any URLconf) and
    # health, and nothing else: not the single pod's /metrics.
    public = routed[config["PUBLIC_DOMAIN"]]
    served = ("/admin/", "/health/ready", "/health/live")
    for path in served:
        assert any(path.startswith(prefix) for prefix in public), path
        resolve(path, urlconf="config.urls_public")
    assert all(
        any(p.startswith(prefix) for p in (*served, settings.STATIC_URL)) for prefix in public
    )
    assert resolve("/metrics", urlconf="config.urls_public")
    assert not any("/metrics".startswith(prefix) for prefix in public)
    # A whole upload request (20 files of DOCUMENT_MAX_MB) fits the proxy's body limit.
    body = ingress["metadata"]["annotations"]["nginx.ingress.kubernetes.io/proxy-body-size"]
    assert int(body.removesuffix("m")) >= 20 * 50


def test_k8s_disruption_budgets_keep_web_and_a_worker_running() -> None:
    objects = _k8s_objects()
    budgets = {o["metadata"]["name"]: o for o in objects if o["kind"] == "PodDisruptionBudget"}
    assert set(budgets) == {"di-platform-web", "di-platform-worker"}
    for name, budget in budgets.items():
        selector = budget["spec"]["selector"]["matchLabels"]
        assert selector.items() <= _labels(objects, name).items()
    web = _one(objects, "HorizontalPodAutoscaler", "di-platform-web")
    assert budgets["di-platform-web"]["spec"]["minAvailable"] < web["spec"]["minReplicas"]
    assert budgets["di-platform-worker"]["spec"]["maxUnavailable"] == 1


def test_keda_scales_workers_on_the_backlog_of_every_celery_queue() -> None:
    from urllib.parse import urlsplit

    objects = _k8s_objects()
    scaled = _one(objects, "ScaledObject", "di-platform-worker")
    assert scaled["spec"]["scaleTargetRef"]["name"] == "di-platform-worker"
    _one(objects, "Deployment", "di-platform-worker")
    assert 1 <= scaled["spec"]["minReplicaCount"] <= scaled["spec"]["maxReplicaCount"]
    triggers = scaled["spec"]["triggers"]
    assert {t["type"] for t in triggers} == {"redis"}
    assert sorted(t["metadata"]["listName"] for t in triggers) == sorted(settings.TASK_QUEUE_NAMES)
    redis_url = urlsplit(_one(objects, "Secret", "di-platform-secrets")["stringData"]["REDIS_URL"])
    for trigger in triggers:
        assert trigger["metadata"]["address"] == redis_url.netloc.rsplit("@", 1)[-1]
        assert trigger["metadata"]["databaseIndex"] == redis_url.path.strip("/")
        assert int(trigger["metadata"]["listLength"]) >= 1


def test_a_waiting_task_is_a_redis_list_named_after_its_queue() -> None:
    """What KEDA reads: with the Redis broker, a queue's waiting tasks are the list `<queue>`
    (here a queue of this test's own, declared as the settings declare theirs)."""
    import redis
    from kombu import Connection, Exchange, Queue

    name = f"kedaprobe{os.getpid()}-ingest"
    queue = Queue(name, Exchange(name), name)
    # The same Redis as the broker: kombu's URL for a socket is redis+socket://, redis-py's
    # unix:// (the embedded Redis of `make test` listens on a socket).
    client = redis.Redis.from_url(settings.CELERY_BROKER_URL.replace("redis+socket://", "unix://"))
    try:
        with Connection(settings.CELERY_BROKER_URL) as broker:
            producer = broker.Producer()
            for _ in range(3):
                producer.publish({"x": 1}, exchange=queue.exchange, routing_key=name,
                                 declare=[queue], serializer="json")  # fmt: skip
        assert client.type(name) == b"list"
        assert client.llen(name) == 3
    finally:
        client.delete(name, f"_kombu.binding.{name}", f"_kombu.binding_permanent.{name}")
        client.close()


def _postgres_settings() -> dict[str, str]:
    command = yaml.safe_load((DEPLOY / "docker-compose.prod.yml").read_text())["services"][
        "postgres"
    ]["command"]
    assert command[0] == "postgres"
    flags, values = command[1::2], command[2::2]
    assert set(flags) == {"-c"}
    return dict(value.split("=", 1) for value in values)


def _documented_postgres_settings() -> dict[str, tuple[str, str]]:
    """{setting: (compose, managed)} from docs/scaling.md's table."""
    rows: dict[str, tuple[str, str]] = {}
    text = (ROOT / "docs" / "scaling.md").read_text()
    table = text.split("## PostgreSQL settings", 1)[1].split("\n\n| setting |", 1)[1]
    for line in table.splitlines()[2:]:
        if not line.startswith("| `"):
            break
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        rows[cells[0].strip("`")] = (cells[1], cells[2])
    return rows


def test_compose_postgres_runs_with_the_documented_settings() -> None:
    settings_ = _postgres_settings()
    documented = _documented_postgres_settings()
    assert {"max_connections", "shared_buffers", "effective_cache_size", "work_mem"} <= set(
        documented
    )
    assert settings_ == {name: compose for name, (compose, _managed) in documented.items()}


def test_compose_postgres_has_room_for_every_process_and_a_whole_platform_dump() -> None:
    settings_ = _postgres_settings()
    example = dict(
        line.split("=", 1)
        for line in (DEPLOY / "env.prod.example").read_text().splitlines()
        if line and not line.startswith("#")
    )
    threads = 4  # GUNICORN_THREADS' default (gunicorn.conf.py)
    web_processes = int(example["WEB_CONCURRENCY"])
    budget = (
        web_processes * (threads + 1)  # a thread's connection each, and warm-up or rebuilds
        + int(example["WORKER_CONCURRENCY"])
        + 3  # migrate: main process and django-tenants' two executor processes
        + 2  # backup: the snapshot's transaction and pg_dump
        + 1  # postgres_exporter
        + 3 + 5  # reserved for superusers, people with psql
    )  # fmt: skip
    connections = int(settings_["max_connections"])
    assert budget <= connections
    # pg_dump locks every table of 1,000 tenants (about 40 each) in one transaction.
    assert int(settings_["max_locks_per_transaction"]) * connections >= 1000 * 40
    # A quarter of the machine's 8 GB for PostgreSQL, shared buffers a quarter of that.
    assert settings_["shared_buffers"] == "1GB"
    compose = yaml.safe_load((DEPLOY / "docker-compose.prod.yml").read_text())
    assert compose["services"]["postgres"]["shm_size"] == "1g"


# --- prometheus and grafana -----------------------------------------------------------------


def test_prometheus_scrapes_web_and_worker_metrics() -> None:
    config = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text())
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    targets = {
        target
        for job in jobs.values()
        for static in job.get("static_configs", [])
        for target in static["targets"]
    }
    assert {"web:9808", "worker:9808"} <= targets
    assert all(job.get("metrics_path", "/metrics") == "/metrics" for job in jobs.values())
    # Kubernetes pods advertise the same port for the usual annotation-based discovery.
    for name in ("di-platform-web", "di-platform-worker"):
        annotations = _one(_k8s_objects(), "Deployment", name)["spec"]["template"]["metadata"][
            "annotations"
        ]
        assert annotations["prometheus.io/scrape"] == "true"
        assert annotations["prometheus.io/port"] == "9808"


def _dashboard() -> dict[str, Any]:
    return json.loads((DEPLOY / "grafana" / "di-platform.json").read_text())


def _dashboard_exprs(dashboard: dict[str, Any]) -> dict[str, str]:
    """{where: PromQL} for every panel target and templating query of the dashboard."""
    exprs = {
        f"panel {panel['id']} ({panel['title']}) {target['refId']}": target["expr"]
        for panel in dashboard["panels"]
        for target in panel.get("targets", [])
    }
    for variable in dashboard["templating"]["list"]:
        if variable["type"] == "query":
            exprs[f"variable {variable['name']}"] = variable["query"]["query"]
    return exprs


def _alert_exprs() -> dict[str, str]:
    groups = yaml.safe_load((DEPLOY / "prometheus" / "alerts.yml").read_text())["groups"]
    return {rule["alert"]: rule["expr"] for group in groups for rule in group["rules"]}


def test_grafana_dashboard_charts_the_platform_metrics() -> None:
    dashboard = _dashboard()
    panels = [p for p in dashboard["panels"] if p["type"] != "row"]
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    exprs = [t["expr"] for p in panels for t in p["targets"]]
    joined = "\n".join(exprs)
    assert "django_http_requests_total_by_method_total" in joined  # request rate
    assert "django_http_requests_latency_including_middlewares_seconds_bucket" in joined
    assert any("document_processing_seconds" in e and "stage" in e for e in exprs)
    assert any("query_response_seconds" in e and "mode, backend" in e for e in exprs)
    assert any("documents_processed_total" in e and "outcome" in e for e in exprs)
    assert any("query_failures_total" in e and "kind, error" in e for e in exprs)
    # The platform gauges by their label, the backup age, the stores against their limits.
    for metric, label in (
        ("documents_by_status", "status"), ("celery_queue_length", "queue"),
        ("celery_queue_consumers", "queue"), ("storage_volume_used_ratio", "volume"),
    ):  # fmt: skip
        assert any(metric in e and f"by ({label})" in e for e in exprs), metric
    stacked = [p for p in panels if "documents_by_status" in str(p["targets"])]
    assert stacked[0]["fieldConfig"]["defaults"]["custom"]["stacking"]["mode"] == "normal"
    assert any(re.search(r"time\(\) - .*backup_last_success_timestamp_seconds", e) for e in exprs)
    for pair in (
        ("pg_stat_activity_count", "pg_settings_max_connections"),
        ("redis_memory_used_bytes", "redis_memory_max_bytes"),
    ):  # one panel draws the use against its limit
        assert any(all(m in str(p["targets"]) for m in pair) for p in panels), pair
    for panel in panels:
        assert panel["datasource"]["uid"] == "${datasource}"
        assert all(t["datasource"]["uid"] == "${datasource}" for t in panel["targets"])
        assert panel["gridPos"]["w"] <= 24
        assert panel["gridPos"]["x"] + panel["gridPos"]["w"] <= 24
        refs = [t["refId"] for t in panel["targets"]]
        assert len(refs) == len(set(refs)), panel["title"]


def test_grafana_panels_do_not_overlap() -> None:
    cells: dict[tuple[int, int], str] = {}
    for panel in _dashboard()["panels"]:
        grid = panel["gridPos"]
        for x in range(grid["x"], grid["x"] + grid["w"]):
            for y in range(grid["y"], grid["y"] + grid["h"]):
                assert (x, y) not in cells, f"{panel['title']} overlaps {cells[(x, y)]}"
                cells[(x, y)] = panel["title"]


def test_the_dashboard_and_the_alerts_read_only_series_that_exist() -> None:
    """Each metric name is exported by the application (its prometheus_client registry) or
    listed among the exporters' series; a renamed metric leaves no panel or alert blank."""
    exported = application_series() | EXPORTER_SERIES
    dashboard = _dashboard_exprs(_dashboard())
    alerts = _alert_exprs()
    unknown = {
        where: sorted(metric_names(expr) - exported)
        for where, expr in {**dashboard, **alerts}.items()
        if metric_names(expr) - exported
    }
    assert not unknown, f"series nobody exports: {unknown}"
    read = {name for expr in (*dashboard.values(), *alerts.values()) for name in metric_names(expr)}
    assert read >= EXPORTER_SERIES, f"listed but never read: {sorted(EXPORTER_SERIES - read)}"
    # Every series an alert reads is charted, but for the targets' own health (Prometheus' page).
    charted = {name for expr in dashboard.values() for name in metric_names(expr)}
    alerted = {name for expr in alerts.values() for name in metric_names(expr)}
    assert alerted - charted == {"up", "pg_up", "redis_up"}


def test_promql_metric_names_skip_functions_labels_and_durations() -> None:
    expr = (
        'time() - max by (kind) (backup_last_success_timestamp_seconds{kind="platform"} > 0) '
        '> 26 * 3600 or absent(up{job=~"di-web"}) and on(instance) group_left(le) '
        "rate(x_total[5m] offset 1h) / clamp_min(sum(rate(y_bucket[$__rate_interval])), 1e-9)"
    )
    assert metric_names(expr) == {
        "backup_last_success_timestamp_seconds",
        "up",
        "x_total",
        "y_bucket",
    }
    assert metric_names("label_values(django_http_requests_total_by_method_total, job)") == {
        "django_http_requests_total_by_method_total"
    }


# --- structured logs and metrics through the running app -------------------------------------


@pytest.fixture
def json_log_lines(caplog: pytest.LogCaptureFixture) -> Iterator[Callable[[], list[str]]]:
    """Lines the production (JSON) formatter writes for every record during the test."""
    caplog.set_level(logging.INFO)
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(build_formatter(json_logs=True))
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield lambda: [line for line in stream.getvalue().splitlines() if line.strip()]
    finally:
        root.removeHandler(handler)


def test_log_format_follows_the_environment() -> None:
    assert log_format({"DJANGO_ENV": "production"}) == "json"
    assert log_format({"DJANGO_ENV": "development", "LOG_FORMAT": "json"}) == "json"
    assert log_format({"DJANGO_ENV": "production", "LOG_FORMAT": "console"}) == "console"
    assert log_format({}) == "console"
    with pytest.raises(ValueError, match="LOG_FORMAT"):
        log_format({"LOG_FORMAT": "xml"})


def test_request_logs_are_json_lines_with_request_id_schema_and_user(
    make_tenant: Callable[[str], TenantHandle], json_log_lines: Callable[[], list[str]]
) -> None:
    handle = make_tenant("logjson")
    client = handle.logged_in_client()

    response = client.get("/", HTTP_X_REQUEST_ID="lb-4f2a9c")
    logging.getLogger("documents.tasks").info("plain %s logger", "stdlib")

    assert response[REQUEST_ID_HEADER] == "lb-4f2a9c"
    records = [json.loads(line) for line in json_log_lines()]
    assert records
    assert all(isinstance(record, dict) for record in records)
    for record in records:
        assert {"timestamp", "level", "logger", "event"} <= set(record)
    finished = [r for r in records if r["event"] == "request_finished"]
    assert len(finished) == 1
    line = finished[0]
    assert line["request_id"] == "lb-4f2a9c"
    assert line["schema"] == handle.schema
    assert line["user_id"] is not None
    assert line["path"] == "/"
    assert line["status"] == response.status_code
    # Outside the request nothing stays bound.
    assert "request_id" not in records[-1]
    assert records[-1]["event"] == "plain stdlib logger"


def test_unsafe_request_ids_are_replaced(
    make_tenant: Callable[[str], TenantHandle], json_log_lines: Callable[[], list[str]]
) -> None:
    handle = make_tenant("logunsafe")
    response = handle.client().get("/login/", HTTP_X_REQUEST_ID='x"\n{"admin": true}')
    generated = response[REQUEST_ID_HEADER]
    assert re.fullmatch(r"[0-9a-f]{32}", generated)
    finished = [json.loads(line) for line in json_log_lines() if "request_finished" in line]
    assert finished[-1]["request_id"] == generated


def test_celery_tasks_log_with_their_tenant_schema(
    make_tenant: Callable[[str], TenantHandle], json_log_lines: Callable[[], list[str]]
) -> None:
    handle = make_tenant("logtask")

    class FakeTask:
        name = "documents.ingest_document"

    with schema_context(handle.schema):
        bind_log_context("task-1", FakeTask())
        structlog.stdlib.get_logger("documents.tasks").info("ingesting")
        leave_task(task_id="task-1")
    structlog.stdlib.get_logger("documents.tasks").info("after")

    first, after = (json.loads(line) for line in json_log_lines()[-2:])
    assert first["event"] == "ingesting"
    assert (first["schema"], first["task_id"], first["task"]) == (
        handle.schema,
        "task-1",
        "documents.ingest_document",
    )
    assert "schema" not in after
    assert "task_id" not in after


def test_metrics_on_the_public_host_name_the_ingestion_histogram(db: None) -> None:
    response = Client(HTTP_HOST="localhost").get("/metrics")
    assert response.status_code == 200
    body = response.content.decode()
    assert "document_processing_seconds" in body
    assert "django_http_requests_total_by_method_total" in body


def test_gunicorn_takes_no_shared_control_socket_unless_given_one(monkeypatch) -> None:
    """Two servers on one machine must not take the per-user default socket from each other."""
    import runpy

    path = str(DEPLOY / "gunicorn.conf.py")
    monkeypatch.delenv("GUNICORN_CONTROL_SOCKET", raising=False)
    assert runpy.run_path(path)["control_socket_disable"] is True
    monkeypatch.setenv("GUNICORN_CONTROL_SOCKET", "/run/di/web.ctl")
    settings = runpy.run_path(path)
    assert settings["control_socket_disable"] is False
    assert settings["control_socket"] == "/run/di/web.ctl"


def test_a_configuration_error_is_one_sentence_not_a_traceback() -> None:
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "DJANGO_SECRET_KEY")}
    env.update(DJANGO_ENV="production", SECRET_KEY="")
    done = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 1
    assert done.stderr.startswith("Configuration error: SECRET_KEY is required")
    assert "Traceback" not in done.stderr


def test_the_monitoring_profile_runs_alerting_dashboards_and_exporters() -> None:
    compose = yaml.safe_load((DEPLOY / "docker-compose.prod.yml").read_text())
    services = compose["services"]
    monitoring = {
        name for name, service in services.items() if "monitoring" in service.get("profiles", [])
    }
    assert monitoring == {
        "prometheus", "alertmanager", "grafana", "postgres-exporter", "redis-exporter",
    }  # fmt: skip
    for name in monitoring:  # every file a service mounts is in the repository
        for volume in services[name].get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("./"):
                assert (DEPLOY / source).exists(), f"{name} mounts missing {source}"
    config = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text())
    targets = {
        target
        for job in config["scrape_configs"]
        for static in job.get("static_configs", [])
        for target in static["targets"]
    }
    assert {"postgres-exporter:9187", "redis-exporter:9121"} <= targets
    manager = config["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"]
    assert manager == ["alertmanager:9093"]
    routes = yaml.safe_load((DEPLOY / "alertmanager" / "alertmanager.yml").read_text())
    assert routes["route"]["routes"][0]["matchers"] == ['severity="page"']


def test_the_kubernetes_prometheus_rule_carries_exactly_the_tested_alerts() -> None:
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "render_rule", DEPLOY / "k8s" / "monitoring" / "render.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    stored = (DEPLOY / "k8s" / "monitoring" / "prometheusrule.yaml").read_text()
    assert stored == module.render(), "run: python deploy/k8s/monitoring/render.py"
    rule = yaml.safe_load(stored)
    alerts = yaml.safe_load((DEPLOY / "prometheus" / "alerts.yml").read_text())
    assert rule["spec"]["groups"] == alerts["groups"]
