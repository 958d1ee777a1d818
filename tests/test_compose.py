"""docker-compose.yaml, checked statically (no Docker engine runs here): it follows the Compose
JSON Schema, everything it names exists, it agrees with what the DAGs use, and it runs what
`make cluster` runs (`sandbox.cluster`) with the same shared settings."""

from __future__ import annotations

import json
import re
from pathlib import Path

import jsonschema
import pytest
import yaml

from aftercare.connections import CONNECTIONS
from sandbox.cluster import COMMANDS, COMPOSE_SERVICES, SHARED_SETTINGS, Cluster, shared_settings
from tests import ROOT

SPEC = Path(__file__).resolve().parent / "specs" / "compose-spec.json"
AIRFLOW_SERVICES = {
    "airflow-init",
    "airflow-apiserver",
    "airflow-scheduler",
    "airflow-dag-processor",
    "airflow-triggerer",
    "airflow-worker",
}


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yaml").read_text())


def _env(service: dict) -> dict[str, str]:
    env = service.get("environment", {})
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {key: str(value) for key, value in env.items()}


def test_follows_the_compose_schema(compose: dict) -> None:
    validator = jsonschema.Draft7Validator(json.loads(SPEC.read_text()))
    validator.validate(compose)
    # and the schema has teeth: a misspelt service key is refused
    broken = {**compose, "services": {**compose["services"], "x": {"imagee": "postgres:16"}}}
    assert not validator.is_valid(broken)


def test_everything_named_exists(compose: dict) -> None:
    services, volumes = compose["services"], set(compose.get("volumes") or {})
    for name, service in services.items():
        for dependency in service.get("depends_on", {}):
            assert dependency in services, f"{name} depends on unknown service {dependency}"
        for mount in service.get("volumes", []):
            source = mount.split(":", 1)[0]
            if source.startswith("."):
                assert (ROOT / source).exists(), f"{name} mounts missing path {source}"
            else:
                assert source in volumes, f"{name} uses undeclared volume {source}"
        if "build" in service:
            context = ROOT / service["build"]["context"]
            assert (context / service["build"]["dockerfile"]).is_file(), name


def test_dockerfile_copies_existing_paths_and_pins_our_airflow(compose: dict) -> None:
    dockerfile = (ROOT / compose["x-airflow-common"]["build"]["dockerfile"]).read_text()
    for line in re.findall(r"^COPY (.+)$", dockerfile, re.M):
        sources = [part for part in line.split()[:-1] if not part.startswith("--")]
        for source in sources:
            assert (ROOT / source).exists(), f"Dockerfile copies missing {source}"
    base = re.search(r"^FROM apache/airflow:(\S+)-python", dockerfile, re.M).group(1)
    assert f"apache-airflow=={base}\n" in (ROOT / "requirements.txt").read_text()


def test_airflow_services_share_one_jwt_secret_and_execution_api(compose: dict) -> None:
    services = compose["services"]
    assert AIRFLOW_SERVICES <= set(services)
    envs = {name: _env(services[name]) for name in AIRFLOW_SERVICES}
    secrets = {env.get("AIRFLOW__API_AUTH__JWT_SECRET") for env in envs.values()}
    urls = {env.get("AIRFLOW__CORE__EXECUTION_API_SERVER_URL") for env in envs.values()}
    assert len(secrets) == 1 and None not in secrets
    assert len(urls) == 1 and None not in urls
    url = urls.pop()
    assert url.startswith("http://airflow-apiserver:8080/"), url
    assert "8080:8080" in services["airflow-apiserver"]["ports"]
    commands = {name: services[name]["command"][0] for name in AIRFLOW_SERVICES}
    assert commands["airflow-scheduler"] == "scheduler"
    assert commands["airflow-dag-processor"] == "dag-processor"
    assert commands["airflow-triggerer"] == "triggerer"
    assert commands["airflow-apiserver"] == "api-server"
    assert services["airflow-worker"]["command"] == ["celery", "worker"]
    assert services["airflow-init"]["command"] == ["python", "-m", "aftercare.bootstrap"]


def test_connections_match_what_the_dags_use(compose: dict) -> None:
    for name in AIRFLOW_SERVICES:
        env = _env(compose["services"][name])
        defined = {
            key.removeprefix("AIRFLOW_CONN_").lower()
            for key in env
            if key.startswith("AIRFLOW_CONN_")
        }
        assert defined == set(CONNECTIONS), name


def test_warehouse_connection_points_at_the_warehouse_service(compose: dict) -> None:
    env = _env(compose["services"]["airflow-scheduler"])
    uri = env["AIRFLOW_CONN_AFTERCARE_WAREHOUSE"]
    match = re.match(r"postgresql://(\w+):[^@]+@([\w-]+):5432/(\w+)$", uri)
    assert match, uri
    user, host, database = match.groups()
    warehouse = _env(compose["services"][host])
    assert (warehouse["POSTGRES_USER"], warehouse["POSTGRES_DB"]) == (user, database)
    assert host != "airflow-db", "the warehouse must be separate from Airflow's metadata DB"


def test_container_paths_are_mounted(compose: dict) -> None:
    env = _env(compose["services"]["airflow-scheduler"])
    mounts = [m.split(":")[1] for m in compose["services"]["airflow-scheduler"]["volumes"]]
    for key in ("AIRFLOW__CORE__DAGS_FOLDER", "AIRFLOW__CORE__PLUGINS_FOLDER", "AFTERCARE_CONFIG"):
        assert any(env[key].startswith(mount) for mount in mounts), key


def test_env_example_names_every_required_variable() -> None:
    text = (ROOT / "docker-compose.yaml").read_text()
    required = set(re.findall(r"\$\{(\w+):\?", text))
    example = dict(
        line.split("=", 1)
        for line in (ROOT / ".env.example").read_text().splitlines()
        if line and not line.startswith("#")
    )
    assert required <= set(example), required - set(example)
    sandbox_ats = json.loads(example["AIRFLOW_CONN_AFTERCARE_ATS"])
    assert sandbox_ats["host"].startswith("http://sandbox:8765/")


def test_every_process_make_cluster_starts_has_its_service(compose: dict) -> None:
    """What `make cluster` starts (its processes and servers), each with the service that
    runs it here, by the same command."""
    services = compose["services"]
    assert set(COMMANDS) <= set(COMPOSE_SERVICES)
    for process, service in COMPOSE_SERVICES.items():
        assert service in services, f"make cluster's {process} has no service {service}"
        if process in COMMANDS:
            command = services[service]["command"]
            assert COMMANDS[process][: len(command)] == command, (process, command)
    assert services["flower"]["command"] == ["celery", "flower"]
    assert services["flower"]["profiles"] == ["flower"]


def test_compose_and_make_cluster_share_one_settings_file(compose: dict, tmp_path: Path) -> None:
    """docker/airflow-cluster.env is every Airflow service's env_file and the launcher's
    settings; neither overrides what it says."""
    shared = shared_settings()
    assert shared["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
    assert compose["x-airflow-common"]["env_file"] == [str(SHARED_SETTINGS.relative_to(ROOT))]
    for name in AIRFLOW_SERVICES | {"flower"}:
        service = compose["services"][name]
        assert service.get("env_file") == compose["x-airflow-common"]["env_file"], name
        assert not set(_env(service)) & set(shared), name
    launcher = Cluster(tmp_path, "postgresql://db/airflow", ROOT / "dags", "redis://r:1/0").env
    assert {key: launcher[key] for key in shared} == shared


def test_celery_reaches_the_broker_and_the_metadata_db(compose: dict) -> None:
    env = _env(compose["services"]["airflow-worker"])
    assert env["AIRFLOW__CELERY__BROKER_URL"] == "redis://redis:6379/0"
    backend = env["AIRFLOW__CELERY__RESULT_BACKEND"]
    assert backend.startswith("db+postgresql+psycopg2://") and "@airflow-db:5432/airflow" in backend
    assert "redis" in compose["services"]["airflow-scheduler"]["depends_on"]
