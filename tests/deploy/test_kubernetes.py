"""The Kubernetes manifests, validated offline against the Kubernetes schemas and against our own settings.

kubernetes-validate ships the JSON Schemas of each Kubernetes release, so this
needs no cluster and no network. Beyond the schemas: every ``KICKIT_*``
variable a manifest sets is a real setting of the process it runs (a renamed
setting cannot silently stop applying), and the shutdown settings fit inside
the pod's grace period (the pod exits before SIGKILL).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from kickit_edge.settings import PROCESSES

ROOT = Path(__file__).resolve().parents[2]
FOLDER = ROOT / "deploy" / "kubernetes"
KUBERNETES = "1.33.0"


def rendered() -> list[dict[str, Any]]:
    """The resources the kustomization lists, with its image mapping applied (all this base uses)."""
    kustomization = yaml.safe_load((FOLDER / "kustomization.yaml").read_text())
    images = {i["name"]: f"{i['newName']}:{i['newTag']}" for i in kustomization.get("images", [])}
    out = []
    for name in kustomization["resources"]:
        for doc in yaml.safe_load_all((FOLDER / name).read_text()):
            for container in containers(doc):
                container["image"] = images.get(container["image"], container["image"])
            out.append(doc)
    return out


def pod_spec(doc: dict[str, Any]) -> dict[str, Any] | None:
    spec = doc.get("spec", {})
    if doc["kind"] == "CronJob":
        return dict(spec["jobTemplate"]["spec"]["template"]["spec"])
    if "template" in spec:
        return dict(spec["template"]["spec"])
    return None


def containers(doc: dict[str, Any]) -> list[dict[str, Any]]:
    spec = pod_spec(doc)
    return [] if spec is None else list(spec["containers"])


def by_kind(kind: str, name: str) -> dict[str, Any]:
    return next(d for d in rendered() if d["kind"] == kind and d["metadata"]["name"] == name)


def env_of(container: dict[str, Any]) -> dict[str, str]:
    return {e["name"]: e["value"] for e in container.get("env", [])}


def test_every_file_of_the_folder_is_listed() -> None:
    listed = set(yaml.safe_load((FOLDER / "kustomization.yaml").read_text())["resources"])
    assert listed == {p.name for p in FOLDER.glob("*.yaml")} - {"kustomization.yaml"}


@pytest.mark.parametrize("doc", rendered(), ids=lambda d: f"{d['kind']}/{d['metadata']['name']}")
def test_manifest_is_valid_kubernetes(doc: dict[str, Any]) -> None:
    kubernetes_validate.validate(doc, KUBERNETES, strict=True)


def test_a_broken_manifest_is_caught() -> None:
    doc = by_kind("Deployment", "kickit-edge")
    doc["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]["httpGet"]["port"] = {"no": "such"}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(doc, KUBERNETES, strict=True)


def test_kickit_variables_are_real_settings() -> None:
    known = {row.env for _, table in PROCESSES for row in table.rows()}
    for doc in rendered():
        for container in containers(doc):
            unknown = {name for name in env_of(container) if name.startswith("KICKIT_")} - known
            assert not unknown, f"{doc['kind']}/{doc['metadata']['name']} sets unknown {sorted(unknown)}"


def test_edge_probes_drain_and_grace_period() -> None:
    edge = by_kind("Deployment", "kickit-edge")
    spec = pod_spec(edge)
    assert spec is not None
    (container,) = spec["containers"]
    assert container["readinessProbe"]["httpGet"]["path"] == "/ready"
    assert container["livenessProbe"]["httpGet"]["path"] == "/health"
    env = env_of(container)
    drain, shutdown = float(env["KICKIT_DRAIN_SECONDS"]), float(env["KICKIT_SHUTDOWN_TIMEOUT"])
    assert drain > 0, "behind a Service the edge must keep answering while endpoints update"
    assert drain + shutdown < spec["terminationGracePeriodSeconds"]
    annotations = edge["spec"]["template"]["metadata"]["annotations"]
    assert annotations["prometheus.io/port"] == env["KICKIT_METRICS_PORT"]
    assert container["image"] == "ghcr.io/kickit-edge/kickit-edge:0.1.0"


def test_pdb_selects_the_edge_pods() -> None:
    pdb = by_kind("PodDisruptionBudget", "kickit-edge")
    labels = by_kind("Deployment", "kickit-edge")["spec"]["template"]["metadata"]["labels"]
    assert pdb["spec"]["selector"]["matchLabels"].items() <= labels.items()
