"""k8s/: the base and every overlay render, validate against the Kubernetes schemas and keep the policy."""

from pathlib import Path

import kubernetes_validate
import pytest
import yaml

from tests.deploy.kustomize import KustomizeError, Manifest, render, split_image

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "k8s"
OVERLAYS = ("dev", "stage", "prod")
# A recent release with schemas in kubernetes-validate; strict mode refuses unknown fields.
KUBERNETES_VERSION = "1.32"
APP_USER = 10001
# Paths inside the containers, not temporary files of this process.
TMP_DIR = "/tmp"  # noqa: S108
MULTIPROC_DIR = "/tmp/prometheus"  # noqa: S108
VAULT_ANNOTATIONS = {
    "vault.hashicorp.com/agent-inject": "true",
    "vault.hashicorp.com/agent-inject-token": "true",
}
TARGETS = {"base": K8S / "base", **{name: K8S / "overlays" / name for name in OVERLAYS}}


def _render(name: str) -> list[Manifest]:
    return render(TARGETS[name])


def _by_kind(objects: list[Manifest], kind: str) -> dict[str, Manifest]:
    return {obj["metadata"]["name"]: obj for obj in objects if obj["kind"] == kind}


def _pod_workloads(objects: list[Manifest]) -> list[Manifest]:
    return [obj for obj in objects if obj["kind"] in {"Deployment", "Job"}]


@pytest.mark.parametrize("target", TARGETS)
def test_every_rendered_object_validates_against_the_kubernetes_schema(target):
    objects = _render(target)
    assert objects
    for obj in objects:
        try:
            kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.ValidationError as error:
            pytest.fail(f"{target}: {obj['kind']} {obj['metadata']['name']}: {error.message} at {list(error.path)}")


def test_base_holds_every_part_of_the_app():
    objects = _render("base")
    assert set(_by_kind(objects, "Deployment")) == {"scrumboard-web", "scrumboard-worker", "scrumboard-beat"}
    assert set(_by_kind(objects, "Job")) == {"scrumboard-migrate"}
    assert set(_by_kind(objects, "HorizontalPodAutoscaler")) == {"scrumboard-web", "scrumboard-worker"}
    for kind in ("Service", "Ingress", "PodDisruptionBudget", "ServiceAccount", "ConfigMap"):
        assert _by_kind(objects, kind), kind
    # The namespace belongs to the overlays.
    assert not _by_kind(objects, "Namespace")
    assert all("namespace" not in obj["metadata"] for obj in objects)


@pytest.mark.parametrize("target", TARGETS)
def test_every_container_runs_as_the_app_user_with_limits_and_a_locked_down_context(target):
    for workload in _pod_workloads(_render(target)):
        pod = workload["spec"]["template"]["spec"]
        name = workload["metadata"]["name"]
        assert pod["serviceAccountName"] == "scrumboard", name
        assert pod["securityContext"]["runAsNonRoot"] is True, name
        assert pod["securityContext"]["runAsUser"] == APP_USER, name
        assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}, name
        volumes = {volume["name"]: volume for volume in pod["volumes"]}
        for container in pod["containers"]:
            context = container["securityContext"]
            assert context["runAsNonRoot"] is True, name
            assert context["runAsUser"] == APP_USER, name
            assert context["allowPrivilegeEscalation"] is False, name
            assert context["readOnlyRootFilesystem"] is True, name
            assert context["capabilities"]["drop"] == ["ALL"], name
            resources = container["resources"]
            assert set(resources["requests"]) >= {"cpu", "memory"}, name
            assert set(resources["limits"]) >= {"cpu", "memory"}, name
            # A read-only root needs writable scratch space: /tmp and the Prometheus multiprocess folder.
            mounts = {mount["mountPath"]: mount["name"] for mount in container["volumeMounts"]}
            assert "emptyDir" in volumes[mounts[TMP_DIR]], name
            assert "emptyDir" in volumes[mounts[MULTIPROC_DIR]], name


@pytest.mark.parametrize("target", TARGETS)
def test_web_probes_liveness_on_healthz_and_readiness_on_readyz(target):
    web = _by_kind(_render(target), "Deployment")["scrumboard-web"]
    (container,) = web["spec"]["template"]["spec"]["containers"]
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["startupProbe"]["httpGet"]["path"] == "/healthz"
    assert {port["containerPort"] for port in container["ports"]} == {8000}


def test_one_image_runs_every_process_with_its_own_command():
    objects = _render("base")
    workloads = {obj["metadata"]["name"]: obj["spec"]["template"]["spec"] for obj in _pod_workloads(objects)}
    commands = {name: pod["containers"][0]["command"] for name, pod in workloads.items()}
    assert commands["scrumboard-web"] == ["gunicorn", "scrumboard.wsgi", "-c", "gunicorn.conf.py"]
    assert commands["scrumboard-worker"][:4] == ["celery", "-A", "scrumboard", "worker"]
    assert commands["scrumboard-beat"][:4] == ["celery", "-A", "scrumboard", "beat"]
    assert commands["scrumboard-migrate"] == ["python", "manage.py", "migrate", "--noinput"]
    assert {pod["containers"][0]["image"] for pod in workloads.values()} == {"scrumboard"}


@pytest.mark.parametrize("target", TARGETS)
def test_beat_is_a_single_replica_replaced_not_rolled(target):
    beat = _by_kind(_render(target), "Deployment")["scrumboard-beat"]
    assert beat["spec"]["replicas"] == 1
    assert beat["spec"]["strategy"] == {"type": "Recreate"}


@pytest.mark.parametrize("target", TARGETS)
def test_no_secret_values_in_the_manifests(target):
    objects = _render(target)
    for secret in _by_kind(objects, "Secret").values():
        assert not secret.get("data") and not secret.get("stringData"), secret["metadata"]["name"]
    config = _by_kind(objects, "ConfigMap")["scrumboard-config"]["data"]
    secret_names = {"SECRET_KEY", "DATABASE_URL", "REDIS_URL", "EMAIL_HOST_PASSWORD", "SENTRY_DSN"}
    secret_names |= {"METRICS_TOKEN", "WEBHOOK_SIGNING_KEY", "VAULT_TOKEN", "VAULT_SECRET_ID"}
    assert not secret_names & set(config)
    for workload in _pod_workloads(objects):
        for container in workload["spec"]["template"]["spec"]["containers"]:
            assert not secret_names & {env["name"] for env in container.get("env", [])}


@pytest.mark.parametrize("target", TARGETS)
def test_pods_get_their_vault_token_from_the_agent_injector(target):
    objects = _render(target)
    role = "scrumboard" if target == "base" else f"scrumboard-{target}"
    config = _by_kind(objects, "ConfigMap")["scrumboard-config"]["data"]
    assert config["VAULT_AUTH_METHOD"] == "token"
    assert config["VAULT_TOKEN_FILE"] == "/vault/secrets/token"
    assert config["VAULT_ADDR"].startswith(("http://", "https://"))
    for workload in _pod_workloads(objects):
        annotations = workload["spec"]["template"]["metadata"]["annotations"]
        assert annotations.items() >= VAULT_ANNOTATIONS.items(), workload["metadata"]["name"]
        assert annotations["vault.hashicorp.com/role"] == role, workload["metadata"]["name"]
        for container in workload["spec"]["template"]["spec"]["containers"]:
            assert {"configMapRef": {"name": "scrumboard-config"}} in container["envFrom"]
    # The Job must end: its agent runs only as an init container.
    job = _by_kind(objects, "Job")["scrumboard-migrate"]
    assert job["spec"]["template"]["metadata"]["annotations"]["vault.hashicorp.com/agent-pre-populate-only"] == "true"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_overlay_sets_its_namespace_environment_and_hosts(overlay):
    objects = _render(overlay)
    namespace = f"scrumboard-{overlay}"
    assert set(_by_kind(objects, "Namespace")) == {namespace}
    for obj in objects:
        if obj["kind"] != "Namespace":
            assert obj["metadata"]["namespace"] == namespace, obj["metadata"]["name"]
    config = _by_kind(objects, "ConfigMap")["scrumboard-config"]["data"]
    assert config["ENVIRONMENT"] == overlay
    ingress = _by_kind(objects, "Ingress")["scrumboard"]
    host = ingress["spec"]["rules"][0]["host"]
    assert ingress["spec"]["tls"][0]["hosts"] == [host]
    assert ingress["spec"]["tls"][0]["secretName"]
    assert config["ALLOWED_HOSTS"].split(",") == [host]
    assert config["SITE_URL"] == f"https://{host}"


def test_each_overlay_has_its_own_host_image_tag_and_vault_role():
    hosts, tags = {}, {}
    for overlay in OVERLAYS:
        objects = _render(overlay)
        hosts[overlay] = _by_kind(objects, "Ingress")["scrumboard"]["spec"]["rules"][0]["host"]
        images = {
            container["image"]
            for workload in _pod_workloads(objects)
            for container in workload["spec"]["template"]["spec"]["containers"]
        }
        (image,) = images  # one image for web, worker, beat and migrate
        name, tag, _ = split_image(image)
        assert name.startswith("ghcr.io/") and name.endswith("/scrumboard")
        assert tag and tag != "latest"
        tags[overlay] = tag
    assert len(set(hosts.values())) == len(OVERLAYS)
    assert len(set(tags.values())) == len(OVERLAYS)


def test_prod_runs_redundant_web_and_worker_pods_and_keeps_web_available():
    objects = _render("prod")
    deployments = _by_kind(objects, "Deployment")
    autoscalers = _by_kind(objects, "HorizontalPodAutoscaler")
    for name in ("scrumboard-web", "scrumboard-worker"):
        assert name in deployments
        assert autoscalers[name]["spec"]["minReplicas"] >= 2
    # At least one web pod may be evicted at a time, or a node drain waits forever.
    min_available = _by_kind(objects, "PodDisruptionBudget")["scrumboard-web"]["spec"]["minAvailable"]
    assert 1 <= min_available < autoscalers["scrumboard-web"]["spec"]["minReplicas"]


@pytest.mark.parametrize("target", TARGETS)
def test_no_deployment_an_autoscaler_manages_sets_its_replicas(target):
    """The HPA owns the count: a spec.replicas would reset it at every ``kubectl apply``."""
    objects = _render(target)
    deployments = _by_kind(objects, "Deployment")
    scaled = {
        hpa["spec"]["scaleTargetRef"]["name"]
        for hpa in _by_kind(objects, "HorizontalPodAutoscaler").values()
        if hpa["spec"]["scaleTargetRef"]["kind"] == "Deployment"
    }
    assert scaled == {"scrumboard-web", "scrumboard-worker"}
    assert {name: deployments[name]["spec"].get("replicas") for name in scaled} == dict.fromkeys(scaled)
    assert deployments["scrumboard-beat"]["spec"]["replicas"] == 1  # no autoscaler: one beat, set here


@pytest.mark.parametrize("target", TARGETS)
def test_the_ingress_lets_through_an_import_the_app_takes(target, settings):
    """Past its body limit nginx answers 413 in HTML; the app's own 413 (JSON, a clear message) must come first."""
    (ingress,) = _by_kind(_render(target), "Ingress").values()
    limit = ingress["metadata"]["annotations"]["nginx.ingress.kubernetes.io/proxy-body-size"]
    assert limit.endswith("m")
    assert int(limit[:-1]) * 1024 * 1024 >= settings.IMPORT_MAX_BYTES + 64 * 1024  # the file and its framing


@pytest.mark.parametrize("target", TARGETS)
def test_autoscalers_and_disruption_budget_point_at_what_exists(target):
    objects = _render(target)
    deployments = _by_kind(objects, "Deployment")
    for autoscaler in _by_kind(objects, "HorizontalPodAutoscaler").values():
        spec = autoscaler["spec"]
        assert spec["scaleTargetRef"]["kind"] == "Deployment"
        assert spec["scaleTargetRef"]["name"] in deployments
        assert 1 <= spec["minReplicas"] <= spec["maxReplicas"]
    web_labels = deployments["scrumboard-web"]["spec"]["template"]["metadata"]["labels"]
    pdb = _by_kind(objects, "PodDisruptionBudget")["scrumboard-web"]
    assert pdb["spec"]["selector"]["matchLabels"].items() <= web_labels.items()
    service = _by_kind(objects, "Service")["scrumboard-web"]
    assert service["spec"]["selector"].items() <= web_labels.items()
    backend = _by_kind(objects, "Ingress")["scrumboard"]["spec"]["rules"][0]["http"]["paths"][0]["backend"]
    assert backend["service"]["name"] == "scrumboard-web"
    for workload in deployments.values():
        selector = workload["spec"]["selector"]["matchLabels"]
        assert selector.items() <= workload["spec"]["template"]["metadata"]["labels"].items()


def test_every_kustomization_declares_its_kind():
    for directory in [K8S / "base", *(K8S / "overlays" / name for name in OVERLAYS)]:
        data = yaml.safe_load((directory / "kustomization.yaml").read_text())
        assert data["apiVersion"] == "kustomize.config.k8s.io/v1beta1"
        assert data["kind"] == "Kustomization"


def _kustomization(tmp_path: Path, text: str) -> Path:
    (tmp_path / "config.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  ENVIRONMENT: dev\n"
    )
    (tmp_path / "kustomization.yaml").write_text(text)
    return tmp_path


def test_renderer_refuses_a_kustomization_feature_it_does_not_implement(tmp_path):
    directory = _kustomization(tmp_path, "resources: [config.yaml]\nconfigMapGenerator: []\n")
    with pytest.raises(KustomizeError, match="configMapGenerator"):
        render(directory)


def test_renderer_refuses_a_strategic_merge_patch(tmp_path):
    patch = "patches:\n  - target: {kind: ConfigMap}\n    patch: |-\n      data: {ENVIRONMENT: prod}\n"
    directory = _kustomization(tmp_path, "resources: [config.yaml]\n" + patch)
    with pytest.raises(KustomizeError, match="JSON 6902"):
        render(directory)


def test_renderer_refuses_a_patch_whose_target_matches_nothing(tmp_path):
    patch = "patches:\n  - target: {kind: Secret}\n    patch: |-\n      - {op: remove, path: /data}\n"
    directory = _kustomization(tmp_path, "resources: [config.yaml]\n" + patch)
    with pytest.raises(KustomizeError, match="matches no object"):
        render(directory)


def test_renderer_applies_patches_namespace_and_labels(tmp_path):
    text = (
        "resources: [config.yaml]\nnamespace: team\nlabels:\n  - pairs: {tier: backend}\n"
        "patches:\n  - target: {kind: ConfigMap, name: settings}\n    patch: |-\n"
        "      - {op: replace, path: /data/ENVIRONMENT, value: prod}\n"
    )
    (config,) = render(_kustomization(tmp_path, text))
    assert config["data"] == {"ENVIRONMENT": "prod"}
    assert config["metadata"]["namespace"] == "team"
    assert config["metadata"]["labels"] == {"tier": "backend"}


def test_image_references_split_into_name_tag_and_digest():
    assert split_image("ghcr.io/acme/scrumboard:abc123") == ("ghcr.io/acme/scrumboard", "abc123", None)
    assert split_image("registry:5000/scrumboard") == ("registry:5000/scrumboard", None, None)
    assert split_image("scrumboard@sha256:ff") == ("scrumboard", None, "sha256:ff")
