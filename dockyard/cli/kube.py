"""`dockyard kube generate|play|down|validate`: from containers and compose projects to Kubernetes manifests,
and manifests run on this host (see docs/kubernetes.md). The translation lives in dockyard/kube/."""
from __future__ import annotations

import json
import os

import click

from ..errors import DockyardError, NotFound
from ..kube import compose, labels as L, manifests, objects, pods, validate
from ..kube.generate import image_reference, pod_from_containers
from ..kube.play import DEFAULT_INFRA_IMAGE, Player
from .common import client
from .group import DockerGroup


@click.group("kube", cls=DockerGroup)
def kube_group():
    """Generate Kubernetes manifests, and play them on this host"""


def report(warnings) -> None:
    for w in warnings:
        click.echo(f"WARNING: {w}", err=True)


def failed(err: Exception) -> None:
    click.echo(f"Error: {err}", err=True)
    raise SystemExit(1)


@kube_group.command("generate")
@click.argument("names", nargs=-1)
@click.option("-f", "--file", "compose_file", help="Generate from a compose file instead of containers")
@click.option("-t", "--type", "kind", type=click.Choice(sorted(objects.KINDS)), default=None,
              help="The workload: pod (default), deployment, statefulset or job")
@click.option("-r", "--replicas", type=click.IntRange(min=0), default=None, help="Replicas (deployment, statefulset)")
@click.option("-s", "--service", is_flag=True, help="Also generate a Service for the ports")
@click.option("--digests", is_flag=True, help="Name images by the registry digest they were pushed or pulled with")
@click.option("--wait-image", default="busybox", show_default=True,
              help="Image of the init containers that wait for a compose dependency (needs sh and nc)")
@click.option("-n", "--namespace", default=None, help="metadata.namespace of every object")
def kube_generate(names, compose_file, kind, replicas, service, digests, wait_image, namespace):
    """Generate Kubernetes YAML from containers, played pods or a compose project"""
    if bool(names) == bool(compose_file):
        failed("give container or pod names, or -f COMPOSE_FILE")
    warnings = objects.Warnings()
    docs = []
    try:
        if compose_file:
            for src in compose_sources(compose_file, warnings, wait_image, digests):
                with_ports = any(c.get("ports") for c in src.containers)
                docs += objects.manifests(src, kind or "pod", replicas, service or with_ports, warnings, namespace)
        else:
            for name in names:
                src, played_kind, played_replicas = container_source(name, warnings, digests)
                docs += objects.manifests(src, kind or played_kind, replicas if replicas is not None
                                          else played_replicas, service, warnings, namespace)
    except DockyardError as err:
        failed(err)
    report(warnings)
    click.echo(objects.dump(docs), nl=False)


def compose_sources(path: str, warnings, wait_image: str, digests: bool):
    project = compose.load(path)

    def image_digest(ref: str, where: str) -> str:
        try:
            image = client().get(f"/images/{ref}/json")
        except NotFound:
            image = None
        return image_reference(ref, image, True, where, warnings)
    return compose.pods_from_compose(project, os.path.dirname(os.path.abspath(path)), warnings, wait_image,
                                     image_digest if digests else None)


def container_source(name: str, warnings, digests: bool):
    """A container by name or ID, or a pod kube play ran (by pod or workload name): (PodSource, kind, replicas)."""
    c = client()
    try:
        container = c.get(f"/containers/{name}/json")
    except NotFound:
        container = None
    # A name the daemon found only as an ID prefix ("db" of a container db1c...) yields to a pod of that name.
    by_prefix = container is not None and container["Name"] != f"/{name}" and container["Id"] != name
    played = c.get("/containers/json", all=1, filters=json.dumps({"label": [L.WORKLOAD]})) \
        if container is None or by_prefix else []
    mine = [p for p in played if p["Labels"].get(L.POD_NAME) == name] or \
        [p for p in played if p["Labels"][L.WORKLOAD].split("/", 1)[1] == name]
    if container is not None and not mine:
        found = [container]
        kind, replicas = "pod", None
    else:
        if not mine:
            raise NotFound(f"no container or pod named {name}")
        workload = mine[0]["Labels"][L.WORKLOAD]
        kind = workload.split("/")[0].lower()
        replicas = len({p["Labels"].get(L.REPLICA) for p in played if p["Labels"][L.WORKLOAD] == workload})
        first = min(p["Labels"].get(L.REPLICA, "0") for p in mine)
        found = [c.get(f"/containers/{p['Id']}/json") for p in mine if p["Labels"].get(L.REPLICA, "0") == first]
        found.sort(key=lambda info: info["Created"])
        name = workload.split("/", 1)[1]
        if kind == "pod":
            replicas = None
    images = {}
    for info in found:
        if info["Image"] not in images:
            try:
                images[info["Image"]] = c.get(f"/images/{info['Image']}/json")
            except NotFound:
                images[info["Image"]] = None

    def volume_labels(volume: str) -> dict:
        try:
            return c.get(f"/volumes/{volume}").get("Labels") or {}
        except NotFound:
            return {}
    pairs = [(info, images[info["Image"]]) for info in found]
    return pod_from_containers(name, pairs, warnings, digests, volume_labels), kind, replicas


@kube_group.command("play")
@click.argument("file")
@click.option("--down", is_flag=True, help="Remove what an earlier play of FILE made")
@click.option("--replace", is_flag=True, help="Remove what an earlier play of FILE made (keeping claims), then play")
@click.option("--infra-image", default=DEFAULT_INFRA_IMAGE, show_default=True,
              help="Image of each pod's infra container (holds the network namespace; needs `sleep`)")
@click.option("--publish-address", default="127.0.0.1", show_default=True,
              help="Host address Service and hostPort ports are published on")
@click.option("--init-timeout", type=float, default=300, show_default=True,
              help="Seconds an init container may take")
def kube_play(file, down, replace, infra_image, publish_address, init_timeout):
    """Run the pods of a Kubernetes YAML file on this host"""
    player = Player(client(), infra_image, init_timeout, echo=click.echo)
    try:
        if down:
            player.down(manifests.read(file, check=False))
            return
        manifest = manifests.read(file)
        planned = pods.plan(manifest, publish_address)
        report(manifest.warnings)
        if replace:
            player.down(manifest, keep_claims=True)
        player.play(manifest, planned)
    except DockyardError as err:
        failed(err)


@kube_group.command("down")
@click.argument("file")
def kube_down(file):
    """Remove what `kube play FILE` made"""
    try:
        Player(client(), echo=click.echo).down(manifests.read(file, check=False))
    except DockyardError as err:
        failed(err)


@kube_group.command("validate")
@click.argument("file")
@click.option("--kube-version", "versions", multiple=True, help="Kubernetes version(s) to validate for")
def kube_validate(file, versions):
    """Validate a Kubernetes YAML file against the Kubernetes schemas (offline)"""
    versions = versions or validate.VERSIONS
    try:
        manifest = manifests.read(file, check=False)
    except DockyardError as err:
        failed(err)
    bad = 0
    for index, doc in manifest.docs:
        for version in versions:
            for problem in validate.problems(doc, version):
                bad += 1
                click.echo(f"{file}: document {index + 1} ({doc['kind']}/{doc['metadata']['name']}), "
                           f"Kubernetes {version}: {problem}", err=True)
    if bad:
        raise SystemExit(1)
    click.echo(f"{file}: {len(manifest.docs)} documents valid for Kubernetes {', '.join(versions)}")


def register(cli):
    cli.add_command(kube_group)
