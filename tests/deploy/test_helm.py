"""The Helm chart (deploy/helm/onslaught): `helm lint`, `helm template`, and the rendered objects.

helm comes from scripts/setup.sh (`go install helm.sh/helm/v3/cmd/helm@HELM_VERSION`, pinned);
set HELM to use another binary.
"""

import os
import pathlib
import shutil
import subprocess

import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
CHART = ROOT / "deploy" / "helm" / "onslaught"
HELM_VERSION = "v3.21.4"


def helm_binary():
    candidates = [
        os.environ.get("HELM"),
        str(pathlib.Path.home() / ".cache" / "onslaught" / f"helm-{HELM_VERSION}" / "helm"),
        shutil.which("helm"),
    ]
    for c in candidates:
        if c and os.access(c, os.X_OK):
            return c
    pytest.fail(f"helm not found: run scripts/setup.sh (installs helm {HELM_VERSION}) or set HELM")


def helm(*args, check=True):
    result = subprocess.run(
        [helm_binary(), *args], capture_output=True, text=True, timeout=60, cwd=ROOT
    )
    if check:
        assert result.returncode == 0, result.stdout + result.stderr
    return result


def render(*sets):
    args = ["template", "load", str(CHART), "--namespace", "loadtest"]
    for s in ("kafka.bootstrapServers=my-cluster-kafka-bootstrap.kafka:9092", *sets):
        args += ["--set", s]
    docs = [d for d in yaml.safe_load_all(helm(*args).stdout) if d]
    return {(d["kind"], d["metadata"]["name"]): d for d in docs}


def container(objects, name):
    pod = objects[("Deployment", f"load-onslaught-{name}")]["spec"]["template"]["spec"]
    (c,) = pod["containers"]
    return pod, c


def test_helm_version_is_the_pinned_one():
    assert HELM_VERSION in helm("version", "--short").stdout


def test_lint_passes():
    out = helm("lint", str(CHART), "--strict", "--set", "kafka.bootstrapServers=kafka:9092")
    assert "0 chart(s) failed" in out.stdout


def test_kafka_address_is_required_with_a_clear_message():
    result = helm("template", "load", str(CHART), check=False)
    assert result.returncode != 0
    assert "kafka.bootstrapServers is required" in result.stderr


def test_default_objects():
    objects = render()
    assert set(objects) == {
        ("Deployment", "load-onslaught-orchestrator"),
        ("Service", "load-onslaught-orchestrator"),
        ("PersistentVolumeClaim", "load-onslaught-reports"),
        ("Deployment", "load-onslaught-driver"),
    }, "no target, no Secret by default"
    assert objects[("Deployment", "load-onslaught-driver")]["spec"]["replicas"] == 3


def test_replicas_is_the_number_of_drivers():
    objects = render("drivers.replicas=7")
    assert objects[("Deployment", "load-onslaught-driver")]["spec"]["replicas"] == 7
    # One orchestrator, never rolled over the reports volume.
    orchestrator = objects[("Deployment", "load-onslaught-orchestrator")]["spec"]
    assert orchestrator["replicas"] == 1
    assert orchestrator["strategy"]["type"] == "Recreate"


def test_orchestrator_serves_the_api_and_keeps_reports_on_the_claim():
    objects = render()
    pod, c = container(objects, "orchestrator")
    args = c["args"]
    assert args[0] == "orchestrator"
    assert args[args.index("--brokers") + 1] == "my-cluster-kafka-bootstrap.kafka:9092"
    assert args[args.index("--listen") + 1] == "0.0.0.0:8080"
    assert args[args.index("--report-dir") + 1] == "/reports"
    mount = next(m for m in c["volumeMounts"] if m["mountPath"] == "/reports")
    volume = next(v for v in pod["volumes"] if v["name"] == mount["name"])
    assert volume["persistentVolumeClaim"]["claimName"] == "load-onslaught-reports"
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert c[probe]["httpGet"]["port"] == "http", probe
    assert c["resources"]["requests"] and c["resources"]["limits"]
    assert pod["securityContext"]["runAsNonRoot"] is True

    service = objects[("Service", "load-onslaught-orchestrator")]["spec"]
    labels = objects[("Deployment", "load-onslaught-orchestrator")]["spec"]["template"]["metadata"]["labels"]
    assert service["selector"].items() <= labels.items()
    assert service["ports"][0]["targetPort"] == "http"
    assert any(p["name"] == "http" and p["containerPort"] == 8080 for p in c["ports"])


def test_drivers_reach_kafka_and_name_the_orchestrator_service():
    objects = render("drivers.allowTargets={10.0.0.0/8,*.staging.example.com}", "drivers.threads=2")
    pod, c = container(objects, "driver")
    args = c["args"]
    assert args[0] == "driver"
    assert args[args.index("--brokers") + 1] == "my-cluster-kafka-bootstrap.kafka:9092"
    assert args[args.index("--orchestrator") + 1] == "http://load-onslaught-orchestrator:8080"
    assert args[args.index("--threads") + 1] == "2"
    allowed = [args[i + 1] for i, a in enumerate(args) if a == "--allow-target"]
    assert allowed == ["10.0.0.0/8", "*.staging.example.com"]
    assert "--node-id" not in args, "pod names make the node ids unique"
    assert c["resources"]["requests"]
    # Drivers and orchestrator select different pods.
    driver_labels = pod and objects[("Deployment", "load-onslaught-driver")]["spec"]["selector"]["matchLabels"]
    orchestrator_selector = objects[("Service", "load-onslaught-orchestrator")]["spec"]["selector"]
    assert not orchestrator_selector.items() <= driver_labels.items()


def test_secret_and_api_token_come_from_a_secret():
    objects = render("secrets.secret=s3cret", "secrets.apiToken=t0ken")
    secret = objects[("Secret", "load-onslaught-secrets")]
    assert set(secret["data"]) == {"secret", "api-token"}
    _, orchestrator = container(objects, "orchestrator")
    _, driver = container(objects, "driver")
    env = {e["name"]: e["valueFrom"]["secretKeyRef"] for e in orchestrator["env"]}
    assert env["ONSLAUGHT_SECRET"] == {"name": "load-onslaught-secrets", "key": "secret", "optional": True}
    assert env["ONSLAUGHT_API_TOKEN"]["key"] == "api-token"
    driver_env = {e["name"]: e["valueFrom"]["secretKeyRef"] for e in driver["env"]}
    assert driver_env["ONSLAUGHT_SECRET"]["name"] == "load-onslaught-secrets"
    assert "ONSLAUGHT_API_TOKEN" not in driver_env
    # Nothing secret on a command line.
    assert "s3cret" not in str(orchestrator["args"]) + str(driver["args"])


def test_an_existing_secret_is_used_not_created():
    objects = render("secrets.existingSecret=mine")
    assert not any(kind == "Secret" for kind, _ in objects)
    _, c = container(objects, "orchestrator")
    assert {e["valueFrom"]["secretKeyRef"]["name"] for e in c["env"]} == {"mine"}


def test_kafka_settings_and_secret_settings():
    objects = render(
        "kafka.config.security\\.protocol=SASL_SSL",
        "kafka.secretConfig[0].setting=sasl.password",
        "kafka.secretConfig[0].secretName=kafka-user",
        "kafka.secretConfig[0].key=password",
    )
    for name in ("orchestrator", "driver"):
        _, c = container(objects, name)
        args = c["args"]
        settings = [args[i + 1] for i, a in enumerate(args) if a == "--kafka-config"]
        assert settings == ["security.protocol=SASL_SSL", "sasl.password=$(ONSLAUGHT_KAFKA_SECRET_0)"]
        env = {e["name"]: e for e in c["env"]}
        ref = env["ONSLAUGHT_KAFKA_SECRET_0"]["valueFrom"]["secretKeyRef"]
        assert ref == {"name": "kafka-user", "key": "password"}


def test_target_is_optional():
    objects = render("target.enabled=true")
    _, c = container(objects, "target")
    assert c["args"][:3] == ["target", "--listen", "0.0.0.0:8000"]
    assert c["readinessProbe"]["httpGet"]["path"] == "/ping"
    assert objects[("Service", "load-onslaught-target")]["spec"]["ports"][0]["port"] == 8000


def test_reports_without_persistence_use_an_empty_dir():
    objects = render("orchestrator.reports.persistence.enabled=false")
    assert ("PersistentVolumeClaim", "load-onslaught-reports") not in objects
    pod, _ = container(objects, "orchestrator")
    assert {"name": "reports", "emptyDir": {}} in pod["volumes"]


def test_image_defaults_to_the_app_version():
    chart = yaml.safe_load((CHART / "Chart.yaml").read_text())
    _, c = container(render(), "driver")
    assert c["image"] == f"onslaught:{chart['appVersion']}"
    _, c = container(render("image.repository=registry.example/onslaught", "image.tag=abc"), "driver")
    assert c["image"] == "registry.example/onslaught:abc"
