"""A small kustomize for the tests: renders k8s/ with no kustomize or kubectl binary.

Only the features k8s/ uses are understood, and any other kustomization key is an error, so a
manifest cannot quietly depend on something this renderer would skip:
``resources`` (files and kustomization directories), ``namespace``, ``images``, ``replicas``,
``labels`` / ``commonLabels``, and ``patches`` holding JSON 6902 operations with a ``target``.
Transformers run in kustomize's order: patches, namespace, labels, replicas, images.
"""

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonpatch
import yaml

Manifest = dict[str, Any]

SUPPORTED_KEYS = {
    "apiVersion",
    "kind",
    "resources",
    "namespace",
    "images",
    "replicas",
    "labels",
    "commonLabels",
    "patches",
}
TARGET_KEYS = {"group", "version", "kind", "name"}
CLUSTER_SCOPED_KINDS = {
    "Namespace",
    "ClusterRole",
    "ClusterRoleBinding",
    "CustomResourceDefinition",
    "PersistentVolume",
    "StorageClass",
    "PriorityClass",
    "IngressClass",
}
WORKLOAD_KINDS = {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"}
SCALABLE_KINDS = {"Deployment", "StatefulSet", "ReplicaSet"}


class KustomizeError(Exception):
    pass


def render(directory: Path) -> list[Manifest]:
    """Every object the kustomization in ``directory`` produces, transformers applied."""
    kustomization = _load_kustomization(directory)
    objects: list[Manifest] = []
    for entry in kustomization.get("resources", []):
        objects.extend(_load_resource(directory, entry))
    for patch in kustomization.get("patches", []):
        _apply_patch(directory, objects, patch)
    if "namespace" in kustomization:
        _set_namespace(objects, kustomization["namespace"])
    for label_set in kustomization.get("labels", []):
        _add_labels(objects, label_set)
    if "commonLabels" in kustomization:
        _add_labels(objects, {"pairs": kustomization["commonLabels"], "includeSelectors": True})
    for replica in kustomization.get("replicas", []):
        _set_replicas(objects, replica)
    for image in kustomization.get("images", []):
        _set_image(objects, image)
    _check_unique(objects)
    return objects


def _load_kustomization(directory: Path) -> Manifest:
    path = directory / "kustomization.yaml"
    if not path.is_file():
        raise KustomizeError(f"{directory}: no kustomization.yaml")
    data = yaml.safe_load(path.read_text())
    if not isinstance(data, dict):
        raise KustomizeError(f"{path}: not a mapping")
    unsupported = set(data) - SUPPORTED_KEYS
    if unsupported:
        raise KustomizeError(f"{path}: unsupported kustomization keys {sorted(unsupported)}")
    return data


def _load_resource(directory: Path, entry: str) -> list[Manifest]:
    if "://" in entry or entry.startswith("github.com/"):
        raise KustomizeError(f"{directory}: remote resource {entry!r} is not supported")
    path = (directory / entry).resolve()
    if path.is_dir():
        return render(path)
    if not path.is_file():
        raise KustomizeError(f"{directory}: resource {entry!r} does not exist")
    documents = [doc for doc in yaml.safe_load_all(path.read_text()) if doc is not None]
    for document in documents:
        if not isinstance(document, dict) or "kind" not in document or "apiVersion" not in document:
            raise KustomizeError(f"{path}: every document must be a Kubernetes object")
    return documents


def _matches(obj: Manifest, target: Manifest) -> bool:
    group, _, version = obj["apiVersion"].rpartition("/")
    checks = {
        "group": group,
        "version": version,
        "kind": obj["kind"],
        "name": obj["metadata"]["name"],
    }
    # kustomize reads every selector field as an anchored regular expression.
    return all(re.fullmatch(str(pattern), checks[key]) for key, pattern in target.items())


def _apply_patch(directory: Path, objects: list[Manifest], patch: Manifest) -> None:
    unknown = set(patch) - {"target", "patch", "path"}
    if unknown or "target" not in patch or ("patch" in patch) == ("path" in patch):
        raise KustomizeError(f"{directory}: a patch needs a target and exactly one of patch/path: {patch}")
    target = patch["target"]
    if not isinstance(target, dict) or not target or set(target) - TARGET_KEYS:
        raise KustomizeError(f"{directory}: patch target may use only {sorted(TARGET_KEYS)}: {target}")
    text = patch["patch"] if "patch" in patch else (directory / patch["path"]).read_text()
    operations = yaml.safe_load(text)
    if not isinstance(operations, list) or not all(isinstance(op, dict) and "op" in op for op in operations):
        raise KustomizeError(f"{directory}: only JSON 6902 patches (a list of operations) are supported")
    json_patch = jsonpatch.JsonPatch(operations)
    matched = [index for index, obj in enumerate(objects) if _matches(obj, target)]
    if not matched:
        raise KustomizeError(f"{directory}: patch target {target} matches no object")
    for index in matched:
        try:
            objects[index] = json_patch.apply(objects[index])
        except (jsonpatch.JsonPatchException, jsonpatch.JsonPointerException) as error:
            name = objects[index]["metadata"]["name"]
            raise KustomizeError(f"{directory}: patch on {objects[index]['kind']} {name} failed: {error}") from error


def _set_namespace(objects: list[Manifest], namespace: str) -> None:
    for obj in objects:
        if obj["kind"] not in CLUSTER_SCOPED_KINDS:
            obj["metadata"]["namespace"] = namespace


def _add_labels(objects: list[Manifest], label_set: Manifest) -> None:
    unknown = set(label_set) - {"pairs", "includeSelectors", "includeTemplates"}
    if unknown:
        raise KustomizeError(f"labels: unsupported fields {sorted(unknown)}")
    pairs = label_set["pairs"]
    selectors = label_set.get("includeSelectors", False)
    templates = label_set.get("includeTemplates", False) or selectors
    for obj in objects:
        obj["metadata"].setdefault("labels", {}).update(pairs)
        spec = obj.get("spec", {})
        if templates and obj["kind"] in WORKLOAD_KINDS:
            spec["template"].setdefault("metadata", {}).setdefault("labels", {}).update(pairs)
        if selectors:
            if obj["kind"] == "Service":
                spec.setdefault("selector", {}).update(pairs)
            elif obj["kind"] in SCALABLE_KINDS | {"DaemonSet", "PodDisruptionBudget"}:
                spec.setdefault("selector", {}).setdefault("matchLabels", {}).update(pairs)


def _set_replicas(objects: list[Manifest], replica: Manifest) -> None:
    found = False
    for obj in objects:
        if obj["kind"] in SCALABLE_KINDS and obj["metadata"]["name"] == replica["name"]:
            obj["spec"]["replicas"] = replica["count"]
            found = True
    if not found:
        raise KustomizeError(f"replicas: no workload named {replica['name']!r}")


def _containers(value: Any) -> Iterator[Manifest]:
    """Every container in an object, wherever a pod spec sits (Deployment, Job, CronJob, Pod)."""
    if isinstance(value, dict):
        for key, child in value.items():
            if key in {"containers", "initContainers"} and isinstance(child, list):
                yield from child
            else:
                yield from _containers(child)
    elif isinstance(value, list):
        for child in value:
            yield from _containers(child)


def split_image(image: str) -> tuple[str, str | None, str | None]:
    """(name, tag, digest) of an image reference; a port in the registry is not a tag."""
    name, _, digest = image.partition("@")
    tag = None
    last = name.rsplit("/", 1)[-1]
    if ":" in last:
        name, tag = name.rsplit(":", 1)
    return name, tag, digest or None


def _set_image(objects: list[Manifest], image: Manifest) -> None:
    unknown = set(image) - {"name", "newName", "newTag", "digest"}
    if unknown:
        raise KustomizeError(f"images: unsupported fields {sorted(unknown)}")
    for obj in objects:
        for container in _containers(obj):
            name, tag, digest = split_image(container["image"])
            if name != image["name"]:
                continue
            name = image.get("newName", name)
            if "digest" in image:
                container["image"] = f"{name}@{image['digest']}"
            elif "newTag" in image:
                container["image"] = f"{name}:{image['newTag']}"
            else:
                suffix = f":{tag}" if tag else ""
                container["image"] = f"{name}{suffix}" + (f"@{digest}" if digest else "")


def _check_unique(objects: list[Manifest]) -> None:
    seen = set()
    for obj in objects:
        key = (obj["kind"], obj["metadata"].get("namespace"), obj["metadata"]["name"])
        if key in seen:
            raise KustomizeError(f"duplicate object {key}")
        seen.add(key)
