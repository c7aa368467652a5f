"""Structure checks for the Dockerfile and compose.yaml.

scripts/compose-test.sh builds and starts both for real (CI runs it); these tests check quickly
what the files must keep: the compose file parses, has the four services wired as documented,
the driver can be scaled, reports persist, the images are variables with the official defaults,
and the image is multi-stage, non-root, with the dashboard embedded in the binary.
"""

import pathlib
import re

import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]


def compose():
    return yaml.safe_load((ROOT / "compose.yaml").read_text())


def default(value):
    """What `${VAR:-default}` becomes when VAR is not set (compose's interpolation)."""
    return re.sub(r"\$\{[A-Z_]+:-([^}]*)\}", r"\1", value)


def dockerfile_stages():
    """(base, name, text) per stage, in order; `base` with ARG defaults substituted."""
    text = (ROOT / "Dockerfile").read_text()
    args = dict(re.findall(r"^ARG\s+(\w+)=(\S+)", text.split("\nFROM ", 1)[0], re.M))
    parts = re.split(r"^(?=FROM\s)", text, flags=re.M)[1:]
    stages = []
    for part in parts:
        base, name = re.match(r"FROM\s+(\S+)(?:\s+AS\s+(\S+))?", part).groups()
        base = re.sub(r"\$\{(\w+)\}", lambda m: args[m.group(1)], base)
        stages.append((base, name, part))
    return stages


def resolve(stages, index):
    """The stages `stages[index]` is built on, itself first, down to an external image."""
    chain = [stages[index]]
    names = {name: s for s in stages for name in [s[1]] if name}
    while chain[-1][0] in names:
        chain.append(names[chain[-1][0]])
    return chain


def test_compose_has_the_four_services():
    services = compose()["services"]
    assert set(services) == {"kafka", "orchestrator", "driver", "target"}
    assert default(services["kafka"]["image"]).startswith("apache/kafka:")


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
    stages = dockerfile_stages()
    assert len(stages) >= 3, stages
    final = resolve(stages, -1)
    assert final[-1][0].endswith("-slim"), "small runtime image"
    final_text = "".join(part for _, _, part in final)
    users = re.findall(r"^USER\s+(\S+)", final_text, re.M)
    assert users and users[0] != "root", "runtime user is not root"
    assert "--locked" in text
    assert 'ENTRYPOINT ["onslaught"]' in final_text
    assert "COPY --from=build" in stages[-1][2]
    # The dashboard is embedded in the binary: built before cargo, not copied into the runtime.
    build = next(part for _, name, part in stages if name == "build")
    assert build.index("COPY --from=dashboard") < build.index("cargo build")
    assert "COPY --from=dashboard" not in final_text


def test_base_images_are_build_arguments_with_official_defaults():
    stages = dockerfile_stages()
    bases = {base.split(":")[0] for base, _, _ in stages}
    assert {"rust", "node", "debian"} <= bases, bases
    text = (ROOT / "Dockerfile").read_text()
    for arg in ("RUST_IMAGE", "NODE_IMAGE", "RUNTIME_IMAGE"):
        assert re.search(rf"^FROM \$\{{{arg}\}}", text, re.M), arg
    args = compose()["services"]["orchestrator"]["build"]["args"]
    assert default(args["RUNTIME_IMAGE"]) == "debian:bookworm-slim"
    assert default(args["RUST_IMAGE"]) == "rust:1-bookworm"
    services = compose()["services"]
    images = {default(services[s]["image"]) for s in ("orchestrator", "driver", "target")}
    assert images == {"onslaught:latest"}


def test_prebuilt_stage_needs_no_rust_or_node_image():
    # The classic builder builds every stage before the target: `prebuilt` (a binary built on
    # the host, used by scripts/compose-test.sh) must come before the Rust and Node stages.
    stages = dockerfile_stages()
    names = [name for _, name, _ in stages]
    prebuilt = names.index("prebuilt")
    for base, _, _ in stages[: prebuilt + 1]:
        assert base.split(":")[0] not in ("rust", "node"), base
    assert "COPY onslaught /usr/local/bin/onslaught" in stages[prebuilt][2]


def test_dockerignore_keeps_build_outputs_out():
    ignored = (ROOT / ".dockerignore").read_text().split()
    for entry in ("target/", "**/node_modules/", ".git/"):
        assert entry in ignored
