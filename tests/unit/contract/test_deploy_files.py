"""Dockerfile, Compose and Kubernetes files refer to things that really exist."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, ClassVar

import pytest
import typer.main
import yaml
from pydantic_settings import BaseSettings

from deploy.cli import app as cli_app
from ingest_gateway.app import build_app
from ingest_gateway.settings import GatewaySettings
from sinks.audiences.worker import AudienceSinkSettings
from sinks.settings import SinkSettings
from stream_processors.settings import ProcessorSettings

REPO = Path(__file__).resolve().parents[3]
DEPLOY = REPO / "deploy"
IMAGE = "unstuck-engine:0.1.0"
# Read outside the settings classes, by schemas.observability.configure_logging.
LOGGING = {"UNSTUCK_LOG_LEVEL"}


def env_names(settings: type[BaseSettings]) -> set[str]:
    """The variables a settings class reads: aliases, else prefix + field name."""
    prefix = str(settings.model_config.get("env_prefix", ""))
    names = set()
    for name, field in settings.model_fields.items():
        alias = field.validation_alias
        names.add(alias.upper() if isinstance(alias, str) else (prefix + name).upper())
    return names


SERVICE_ENV = {
    ("gateway",): env_names(GatewaySettings) | LOGGING,
    ("processor",): env_names(ProcessorSettings) | LOGGING,
    ("sink", "records"): env_names(SinkSettings) | LOGGING,
    ("sink", "webhooks"): env_names(SinkSettings) | LOGGING,
    ("sink", "audiences"): env_names(AudienceSinkSettings) | LOGGING,
    ("init",): {
        "KAFKA_BOOTSTRAP_SERVERS",
        "UNSTUCK_TOPIC_PREFIX",
        "UNSTUCK_TOPIC_REPLICATION_FACTOR",
        "DATABASE_URL",
    }
    | LOGGING,
}


def load_all(path: Path) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d]


def cli_knows(command: list[str]) -> bool:
    """Whether ``unstuck <command>`` resolves to a real command of the CLI."""
    group: Any = typer.main.get_command(cli_app)
    for word in command:
        commands = getattr(group, "commands", {})
        if word not in commands:
            return False
        group = commands[word]
    return not getattr(group, "commands", None)


def gateway_routes() -> set[str]:
    app = build_app(GatewaySettings())
    return {r.canonical for r in app.router.resources()}


def test_settings_introspection_sees_known_variables() -> None:
    """The checks below compare against real names, not an empty set."""
    assert "UNSTUCK_PORT" in SERVICE_ENV[("gateway",)]
    assert "UNSTUCK_PROCESSOR_ID" in SERVICE_ENV[("processor",)]
    assert "UNSTUCK_RECORDS_SINK_GROUP" in SERVICE_ENV[("sink", "records")]
    assert "DATABASE_URL" not in SERVICE_ENV[("processor",)]


def test_dockerfile_copies_every_package_and_runs_the_cli() -> None:
    """The image installs the project and its entry point is ``unstuck``."""
    text = (DEPLOY / "Dockerfile").read_text(encoding="utf-8")

    for package in (
        "schemas",
        "ingest_gateway",
        "stream_processors",
        "sinks",
        "deploy",
    ):
        assert f"COPY {package} ./{package}" in text
        assert (REPO / package).is_dir()
    assert 'ENTRYPOINT ["unstuck"]' in text
    assert re.search(r"^FROM python:3\.1[1-9]", text, re.MULTILINE)


class TestCompose:
    """deploy/compose.yaml."""

    doc: ClassVar[dict[str, Any]] = yaml.safe_load(
        (DEPLOY / "compose.yaml").read_text(encoding="utf-8")
    )

    def test_kafka_is_the_official_image_in_kraft_mode(self) -> None:
        """apache/kafka 4.1.0 or newer, broker and controller in one node."""
        kafka = self.doc["services"]["kafka"]
        name, _, tag = kafka["image"].partition(":")
        env = kafka["environment"]

        assert name == "apache/kafka"
        assert tuple(int(p) for p in tag.split(".")) >= (4, 1, 0)
        assert set(env["KAFKA_PROCESS_ROLES"].split(",")) == {"broker", "controller"}
        assert "PLAINTEXT://kafka:9092" in env["KAFKA_ADVERTISED_LISTENERS"]

    @pytest.mark.parametrize(
        "service", ["init", "gateway", "processor", "sink-records", "sink-webhooks"]
    )
    def test_service_runs_a_real_command_with_variables_it_reads(
        self, service: str
    ) -> None:
        """Image, command and every environment variable match the code."""
        spec = self.doc["services"][service]
        command = spec["command"]
        allowed = SERVICE_ENV[tuple(command)]

        assert spec["image"] == IMAGE
        assert cli_knows(command)
        assert set(spec["environment"]) <= allowed
        assert spec["environment"]["KAFKA_BOOTSTRAP_SERVERS"] == "kafka:9092"
        if "DATABASE_URL" in allowed and service != "processor":
            assert "@postgres:5432/" in spec["environment"]["DATABASE_URL"]

    def test_image_is_built_from_the_dockerfile(self) -> None:
        """The build context holds the Dockerfile the file names."""
        build = self.doc["services"]["init"]["build"]

        assert (DEPLOY / build["context"] / build["dockerfile"]).resolve() == (
            DEPLOY / "Dockerfile"
        )

    def test_gateway_listens_where_it_is_published_and_checked(self) -> None:
        """Port mapping, UNSTUCK_PORT and the health check agree on a real route."""
        gateway = self.doc["services"]["gateway"]
        port = gateway["environment"]["UNSTUCK_PORT"]
        check = " ".join(gateway["healthcheck"]["test"])

        assert gateway["environment"]["UNSTUCK_HOST"] == "0.0.0.0"
        assert gateway["ports"] == [f"{port}:{port}"]
        path = re.search(rf"127\.0\.0\.1:{port}(/\w+)", check)
        assert path is not None
        assert path.group(1) in gateway_routes()


class TestKubernetes:
    """deploy/k8s/*.yaml."""

    documents: ClassVar[list[dict[str, Any]]] = [
        d for p in sorted((DEPLOY / "k8s").glob("*.yaml")) for d in load_all(p)
    ]

    def config_keys(self, env_from: list[dict[str, Any]]) -> set[str]:
        """Keys a container gets from its ConfigMaps and Secrets."""
        sources = {
            (d["kind"], d["metadata"]["name"]): d.get("data") or d.get("stringData")
            for d in self.documents
            if d["kind"] in ("ConfigMap", "Secret")
        }
        keys: set[str] = set()
        for entry in env_from:
            kind = "ConfigMap" if "configMapRef" in entry else "Secret"
            ref = entry.get("configMapRef") or entry["secretRef"]
            keys |= set(sources[(kind, ref["name"])])
        return keys

    def containers(self) -> list[dict[str, Any]]:
        return [
            c
            for d in self.documents
            if d["kind"] in ("Deployment", "Job")
            for c in d["spec"]["template"]["spec"]["containers"]
        ]

    def test_every_service_is_deployed(self) -> None:
        """Gateway, processor, both sinks and the init job each have a container."""
        commands = {tuple(c["args"]) for c in self.containers()}

        assert commands == set(SERVICE_ENV)

    def test_containers_use_the_image_real_commands_and_resources(self) -> None:
        """Each container names the image, a real command, requests and limits."""
        for container in self.containers():
            assert container["image"] == IMAGE
            assert cli_knows(container["args"])
            assert {"requests", "limits"} <= set(container["resources"])

    def test_environment_variables_are_read_by_the_service(self) -> None:
        """No variable is set that the service's settings would ignore."""
        for container in self.containers():
            names = {e["name"] for e in container.get("env", [])}
            names |= self.config_keys(container.get("envFrom", []))

            assert names <= SERVICE_ENV[tuple(container["args"])], container["name"]
            assert "KAFKA_BOOTSTRAP_SERVERS" in names

    def test_probes_point_at_real_routes_and_ports(self) -> None:
        """Gateway probes hit /healthz and /readyz on its port; others on theirs."""
        routes = gateway_routes()
        for container in self.containers():
            env = {e["name"]: e.get("value") for e in container.get("env", [])}
            ports = {p["containerPort"] for p in container.get("ports", [])}
            for kind in ("readinessProbe", "livenessProbe"):
                probe = container.get(kind)
                if probe is None:
                    continue
                assert probe["httpGet"]["port"] in ports
                if container["args"] == ["gateway"]:
                    assert probe["httpGet"]["path"] in routes
                    assert str(probe["httpGet"]["port"]) == env["UNSTUCK_PORT"]
                if container["args"] == ["processor"]:
                    assert str(probe["httpGet"]["port"]) == env["UNSTUCK_METRICS_PORT"]

        gateway = next(c for c in self.containers() if c["args"] == ["gateway"])
        assert gateway["readinessProbe"]["httpGet"]["path"] == "/readyz"
        assert gateway["livenessProbe"]["httpGet"]["path"] == "/healthz"
        assert env_names(GatewaySettings) >= {"UNSTUCK_HOST", "UNSTUCK_PORT"}

    def test_processor_replicas_fit_the_partitions(self) -> None:
        """More processors than raw partitions would leave some idle."""
        from schemas.topics import SIGNALS_RAW

        processor = next(
            d
            for d in self.documents
            if d["kind"] == "Deployment"
            and d["metadata"]["name"] == "unstuck-processor"
        )

        assert processor["spec"]["replicas"] <= SIGNALS_RAW.partitions
