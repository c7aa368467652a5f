"""Structure checks for the Dockerfile and compose.yaml.

There is no Docker engine on the build machines, so these files cannot be built or started here;
these tests check what can be checked: the compose file parses, has the four services wired as
documented, the driver can be scaled, reports persist, and the image is multi-stage and non-root.
"""

import pathlib
import re

import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]


def compose():
    return yaml.safe_load((ROOT / "compose.yaml").read_text())


def test_compose_has_the_four_services():
    services = compose()["services"]
    assert set(services) == {"kafka", "orchestrator", "driver", "target"}
    assert services["kafka"]["image"].startswith("apache/kafka:")


def test_kafka_is_kraft_single_node():
    env = compose()["services"]["kafka"]["environment"]
    assert env["KAFKA_PROCESS_ROLES"] == "broker,controller"
    assert env["KAFKA_CONTROLLER_QUORUM_VOTERS"] == "1@kafka:9093"
    assert "PLAINTEXT://kafka:9092" in env["KAFKA_ADVERTISED_LISTENERS"]
    assert "healthcheck" in compose()["services"]["kafka"]


def test_every_node_takes_the_broker_and_orchestrator_addresses():
    services = compose()["services"]
    orchestrator = services["orchestrator"]["command"]
    driver = services["driver"]["command"]
    assert orchestrator[0] == "orchestrator" and "--brokers" in orchestrator
    assert driver[0] == "driver"
    assert driver[driver.index("--brokers") + 1] == "kafka:9092"
    assert driver[driver.index("--orchestrator") + 1] == "http://orchestrator:8080"


def test_driver_can_be_scaled():
    driver = compose()["services"]["driver"]
    # --scale driver=N needs no fixed name, no host port and no fixed node id.
    assert "container_name" not in driver
    assert "ports" not in driver
    assert "--node-id" not in driver["command"]
    assert driver["depends_on"]["kafka"]["condition"] == "service_healthy"


def test_reports_live_on_a_volume():
    doc = compose()
    mounts = doc["services"]["orchestrator"]["volumes"]
    assert "reports:/reports" in mounts
    assert "reports" in doc["volumes"]
    command = doc["services"]["orchestrator"]["command"]
    assert command[command.index("--report-dir") + 1] == "/reports"


def test_dockerfile_is_multi_stage_and_non_root():
    text = (ROOT / "Dockerfile").read_text()
    stages = re.findall(r"^FROM\s+(\S+)(?:\s+AS\s+(\S+))?", text, re.M)
    assert len(stages) >= 3, stages
    assert stages[-1][0].endswith("-slim"), "small runtime image"
    final = text[text.rindex("\nFROM "):]
    assert re.search(r"^USER\s+(?!root)\S+", final, re.M), "runtime user is not root"
    assert "--locked" in text
    assert 'ENTRYPOINT ["onslaught"]' in final
    assert "COPY --from=build" in final and "COPY --from=dashboard" in final


def test_dockerignore_keeps_build_outputs_out():
    ignored = (ROOT / ".dockerignore").read_text().split()
    for entry in ("target/", "**/node_modules/", ".git/"):
        assert entry in ignored
