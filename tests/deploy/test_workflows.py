"""The GitHub Actions workflows: actionlint and zizmor find nothing, every action is pinned to a commit,
the token is least-privilege, secrets never reach a script's text, and the pipeline has the shape the
issue asks for (tests against services, scans, image by commit, stage on main, prod on a tag)."""

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.deploy.kustomize import render

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS_DIR = ROOT / ".github" / "workflows"
WORKFLOWS = sorted(WORKFLOWS_DIR.glob("*.yml"))
ACTIONLINT = ROOT / "tools" / "actionlint.mjs"
ZIZMOR = Path(sys.executable).with_name("zizmor")

# Findings zizmor would report but for an inline `# zizmor: ignore[...]`, each with its reason in the
# workflow: workspace-relative `./` for the reusable deploy workflow, because the actionlint in tools/
# does not know GitHub's newer `$/` form yet.
JUSTIFIED_ZIZMOR_FINDINGS = {("self-repository", "ci.yml")}

FULL_SHA_PIN = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40}$")
VERSION_COMMENT = re.compile(r"#\s*v?\d+(\.\d+)*\b")
# Write access any job may ask for, and which jobs: pushing or tagging the image in ghcr.io.
WRITE_GRANTS = {("ci.yml", "image"): {"packages"}, ("deploy.yml", "production"): {"packages"}}


def _load(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text())
    # YAML 1.1 reads the key `on` as True.
    if True in data:
        data["on"] = data.pop(True)
    return data


@pytest.fixture(scope="module")
def workflows() -> dict[str, dict[str, Any]]:
    return {path.name: _load(path) for path in WORKFLOWS}


@pytest.fixture(scope="module")
def ci(workflows) -> dict[str, Any]:
    return workflows["ci.yml"]


@pytest.fixture(scope="module")
def deploy(workflows) -> dict[str, Any]:
    return workflows["deploy.yml"]


def _steps(job: dict[str, Any]) -> list[dict[str, Any]]:
    return job.get("steps", [])


def _runs(job: dict[str, Any]) -> str:
    return "\n".join(step["run"] for step in _steps(job) if "run" in step)


def _uses(job: dict[str, Any]) -> list[str]:
    return [step["uses"].split("@")[0] for step in _steps(job) if "uses" in step]


def _actionlint(*paths: Path) -> tuple[int, list[dict[str, Any]]]:
    node = shutil.which("node")
    assert node, "node is missing: `make tools` installs it with the npm package it runs"
    assert (ROOT / "tools" / "node_modules" / "@tktco" / "node-actionlint").is_dir(), "run `make tools` first"
    result = subprocess.run(
        [node, str(ACTIONLINT), *map(str, paths)], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode in (0, 1), result.stderr
    return result.returncode, json.loads(result.stdout)


def _zizmor(*args: str) -> tuple[int, list[dict[str, Any]]]:
    result = subprocess.run(
        [str(ZIZMOR), "--offline", "--no-progress", "--format", "json", *args, str(WORKFLOWS_DIR)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=ROOT,
    )
    # 0: clean; 10-14: findings (by their highest severity); anything else is zizmor failing.
    assert result.returncode == 0 or 10 <= result.returncode <= 14, result.stderr
    return result.returncode, json.loads(result.stdout or "[]")


def _finding_files(findings: list[dict[str, Any]]) -> set[tuple[str, str]]:
    found = set()
    for finding in findings:
        for location in finding["locations"]:
            key = location["symbolic"]["key"]
            path = key.get("Local", {}).get("given_path") or key.get("Local", {}).get("verbatim_path", "")
            found.add((finding["ident"], Path(path).name))
    return found


def test_the_pipeline_workflows_exist():
    assert {path.name for path in WORKFLOWS} >= {"ci.yml", "deploy.yml"}
    assert not list(WORKFLOWS_DIR.glob("*.yaml")), "one extension for workflows: .yml"


def test_actionlint_finds_nothing():
    status, findings = _actionlint(*WORKFLOWS)
    assert findings == [], json.dumps(findings, indent=2)
    assert status == 0


def test_actionlint_reports_what_is_wrong(tmp_path):
    """The linter really runs: a broken workflow gets findings, not an empty list."""
    broken = tmp_path / "broken.yml"
    broken.write_text(
        "on: push\n"
        "jobs:\n"
        "  build:\n"
        "    runs-on: ubuntu-24.04\n"
        "    permissions:\n"
        "      contents: raed\n"
        "    steps:\n"
        '      - run: echo "${{ github.event.head_commit.message }}"\n'
    )
    status, findings = _actionlint(broken)
    assert status == 1
    assert {finding["kind"] for finding in findings} >= {"permissions", "expression"}


def test_run_scripts_pass_shellcheck(workflows, tmp_path):
    """What actionlint's WebAssembly build cannot do: shellcheck every run: script, as GitHub's bash."""
    shellcheck = shutil.which("shellcheck")
    assert shellcheck, "shellcheck is missing: `make tools` installs Debian's package"
    for name, workflow in workflows.items():
        for job_name, job in workflow["jobs"].items():
            for number, step in enumerate(_steps(job)):
                if "run" not in step:
                    continue
                script = tmp_path / f"{name}-{job_name}-{number}.sh"
                # Expressions are expanded before bash runs: a plain word stands in for each.
                script.write_text(re.sub(r"\$\{\{.*?\}\}", "EXPRESSION", step["run"]))
                result = subprocess.run(
                    [shellcheck, "--shell=bash", "--severity=style", "--format=gcc", str(script)],
                    capture_output=True,
                    text=True,
                    timeout=60,
                    check=False,
                )
                assert result.returncode == 0, f"{name}/{job_name}: {step.get('name')}\n{result.stdout}"


def test_zizmor_finds_nothing():
    status, findings = _zizmor()
    assert findings == [], json.dumps(findings, indent=2)
    assert status == 0


def test_zizmor_ignores_only_the_justified_findings():
    _status, findings = _zizmor("--no-ignores")
    assert _finding_files(findings) == JUSTIFIED_ZIZMOR_FINDINGS


def test_zizmor_ignore_comments_are_the_justified_ones():
    ignores = set()
    for path in WORKFLOWS:
        for rule in re.findall(r"#\s*zizmor:\s*ignore\[([\w,\s-]+)\]", path.read_text()):
            ignores.update((name.strip(), path.name) for name in rule.split(","))
    assert ignores == JUSTIFIED_ZIZMOR_FINDINGS


def test_every_action_is_pinned_to_a_full_commit_sha_with_its_version(workflows):
    for path in WORKFLOWS:
        lines = [line for line in path.read_text().splitlines() if re.match(r"^\s*(-\s+)?uses:", line)]
        parsed = [
            step["uses"] for job in workflows[path.name]["jobs"].values() for step in _steps(job) if "uses" in step
        ]
        parsed += [job["uses"] for job in workflows[path.name]["jobs"].values() if "uses" in job]
        assert len(lines) == len(parsed), f"{path.name}: every uses: on a line of its own"
        for line in lines:
            reference, _, comment = line.split("uses:", 1)[1].strip().partition("#")
            reference = reference.strip()
            if reference.startswith("./"):
                assert (ROOT / reference).is_file(), f"{path.name}: {reference} does not exist"
                continue
            assert FULL_SHA_PIN.match(reference), f"{path.name}: {reference} is not pinned to a 40-hex commit"
            assert VERSION_COMMENT.search("#" + comment), f"{path.name}: {reference} has no version comment"


def test_the_token_is_read_only_unless_a_job_needs_more(workflows):
    for name, workflow in workflows.items():
        assert workflow["permissions"] == {"contents": "read"}, f"{name}: workflow-level permissions"
        for job_name, job in workflow["jobs"].items():
            permissions = job.get("permissions", {})
            assert isinstance(permissions, dict), f"{name}/{job_name}: no read-all or write-all"
            writes = {scope for scope, level in permissions.items() if level == "write"}
            assert writes <= WRITE_GRANTS.get((name, job_name), set()), f"{name}/{job_name} writes {writes}"


def test_no_privileged_triggers(workflows):
    for name, workflow in workflows.items():
        triggers = set(workflow["on"])
        assert triggers <= {"push", "pull_request", "workflow_call", "workflow_dispatch"}, name
        assert "pull_request_target" not in workflow["on"]
        assert "workflow_run" not in workflow["on"]


def test_secrets_reach_scripts_only_through_env(workflows):
    for name, workflow in workflows.items():
        for job_name, job in workflow["jobs"].items():
            for step in _steps(job):
                assert "secrets." not in step.get("run", ""), f"{name}/{job_name}: {step.get('name')}"


def test_checkouts_keep_no_credentials(workflows):
    for name, workflow in workflows.items():
        for job_name, job in workflow["jobs"].items():
            for step in _steps(job):
                if step.get("uses", "").startswith("actions/checkout@"):
                    assert step["with"]["persist-credentials"] is False, f"{name}/{job_name}"


def test_ci_runs_on_every_push_and_pull_request(ci):
    assert ci["on"]["push"] == {"branches": ["**"]}
    assert "pull_request" in ci["on"]


def test_ci_tests_against_postgresql_and_redis(ci):
    job = ci["jobs"]["test"]
    assert job["services"]["postgres"]["image"] == "postgres:15"
    assert job["services"]["redis"]["image"] == "redis:7"
    assert job["env"]["CI"] == "true"
    assert job["env"]["DATABASE_URL"].startswith("postgres://")
    assert job["env"]["DATABASE_URL"].endswith(":5432/scrumboard_ci")
    assert job["env"]["REDIS_URL"].startswith("redis://")
    assert "actions/setup-python" in _uses(job)
    assert next(s for s in _steps(job) if "setup-python" in s.get("uses", ""))["with"]["python-version"] == "3.11"
    runs = _runs(job)
    # What `make check` runs: ruff and makemigrations --check (lint), mypy, check --deploy, the suite.
    for target in ("make lint", "make typecheck", "make deploy-check", "make test"):
        assert target in runs


def test_ci_scans_code_secrets_dependencies_and_the_image(ci):
    job = ci["jobs"]["security"]
    runs = _runs(job)
    assert "bandit --recursive" in runs
    assert re.search(r"pip-audit --strict\b", runs)
    assert all("--strict" in line for line in runs.splitlines() if line.lstrip().startswith("pip-audit"))
    uses = _uses(job)
    assert "gitleaks/gitleaks-action" in uses
    assert "aquasecurity/trivy-action" in uses
    trivy = next(step for step in _steps(job) if "trivy-action" in step.get("uses", ""))
    build = next(step for step in _steps(job) if "build-push-action" in step.get("uses", ""))
    assert trivy["with"]["image-ref"] == build["with"]["tags"]
    assert str(trivy["with"]["exit-code"]) == "1"
    checkout = next(step for step in _steps(job) if "checkout" in step.get("uses", ""))
    assert checkout["with"]["fetch-depth"] == 0


def test_ci_pushes_the_image_tagged_by_commit_after_tests_and_scans(ci):
    job = ci["jobs"]["image"]
    assert set(job["needs"]) == {"test", "security"}
    assert job["if"] == "github.event_name == 'push'"
    build = next(step for step in _steps(job) if "build-push-action" in step.get("uses", ""))
    assert build["with"]["push"] is True
    assert build["with"]["tags"] == "${{ steps.name.outputs.image }}:${{ github.sha }}"
    assert "ghcr.io/${GITHUB_REPOSITORY,,}" in _runs(job)
    login = next(step for step in _steps(job) if "login-action" in step.get("uses", ""))
    assert login["with"]["registry"] == "ghcr.io"


def test_main_deploys_to_stage_through_the_deploy_workflow(ci, deploy):
    job = ci["jobs"]["deploy-stage"]
    assert job["needs"] == "image"
    assert "github.ref == 'refs/heads/main'" in job["if"]
    assert job["uses"] == "./.github/workflows/deploy.yml"
    assert "secrets" not in job, "cluster credentials are the stage environment's own secret"
    assert deploy["on"]["workflow_call"]["inputs"]["image"]["required"] is True


def _overlay(name: str) -> tuple[str, str]:
    objects = render(ROOT / "k8s" / "overlays" / name)
    ingress = next(obj for obj in objects if obj["kind"] == "Ingress")
    job = next(obj for obj in objects if obj["kind"] == "Job")
    return job["metadata"]["namespace"], ingress["spec"]["rules"][0]["host"]


@pytest.mark.parametrize(("job_name", "overlay"), [("stage", "stage"), ("production", "prod")])
def test_deploy_jobs_match_their_overlay(deploy, job_name, overlay):
    job = deploy["jobs"][job_name]
    namespace, host = _overlay(overlay)
    assert job["env"]["OVERLAY"] == f"k8s/overlays/{overlay}"
    assert job["env"]["NAMESPACE"] == namespace
    assert job["env"]["READYZ_URL"] == f"https://{host}/readyz"
    assert job["environment"]["url"] == f"https://{host}"
    runs = _runs(job)
    assert 'kustomize edit set image "scrumboard=' in runs
    set_image = next(step for step in _steps(job) if "kustomize edit" in step.get("run", ""))
    assert set_image["working-directory"] == job["env"]["OVERLAY"]
    # Migrations first (the Job is immutable: the old one goes), then the rollout, then /readyz.
    assert runs.index("delete job scrumboard-migrate") < runs.index("wait --for=condition=complete")
    assert runs.index("wait --for=condition=complete") < runs.index("rollout status")
    assert 'curl --fail --silent --show-error --max-time 10 "$READYZ_URL"' in runs


def test_stage_deploys_the_commit_image_with_its_environments_credentials(deploy):
    job = deploy["jobs"]["stage"]
    assert job["if"] == "github.ref_type == 'branch'"
    assert job["environment"]["name"] == "stage"
    assert job["env"]["IMAGE"] == "${{ inputs.image }}:${{ github.sha }}"
    credentials = next(step for step in _steps(job) if "KUBE_CONFIG" in step.get("env", {}))
    assert credentials["env"]["KUBE_CONFIG"] == "${{ secrets.KUBE_CONFIG_STAGE }}"


def test_a_version_tag_promotes_the_same_image_to_production_behind_approval(deploy):
    assert deploy["on"]["push"] == {"tags": ["v*.*.*"]}
    verify = deploy["jobs"]["verify-release"]
    assert verify["if"] == "github.ref_type == 'tag'"
    assert "git merge-base --is-ancestor" in _runs(verify)
    assert 'imagetools inspect "$IMAGE:$GITHUB_SHA"' in _runs(verify)
    assert verify["permissions"] == {"contents": "read", "packages": "read"}
    job = deploy["jobs"]["production"]
    assert job["needs"] == "verify-release"
    assert job["environment"]["name"] == "production"
    runs = _runs(job)
    # The version tag is added to the commit's image: a new tag on the same manifest, no build.
    assert 'imagetools create --tag "$REPOSITORY:$GITHUB_REF_NAME" "$REPOSITORY:$GITHUB_SHA"' in runs
    assert 'kustomize edit set image "scrumboard=$REPOSITORY:$GITHUB_SHA"' in runs
    assert not any("build-push-action" in uses for uses in _uses(job))
    assert not re.search(r"docker (buildx )?build\b", runs)
    credentials = next(step for step in _steps(job) if "KUBE_CONFIG" in step.get("env", {}))
    assert credentials["env"]["KUBE_CONFIG"] == "${{ secrets.KUBE_CONFIG_PROD }}"


def test_deployments_never_overlap(deploy):
    for job_name in ("stage", "production"):
        concurrency = deploy["jobs"][job_name]["concurrency"]
        assert concurrency["cancel-in-progress"] is False
