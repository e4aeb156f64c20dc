"""The labels kube play puts on what it makes: kubelet's Docker runtime labels (so `docker ps --filter
label=io.kubernetes.pod.name=web` works as it did with dockershim) and ours, which say what `--down` removes."""
POD_NAME = "io.kubernetes.pod.name"
POD_NAMESPACE = "io.kubernetes.pod.namespace"
POD_UID = "io.kubernetes.pod.uid"
CONTAINER_NAME = "io.kubernetes.container.name"
DOCKER_TYPE = "io.kubernetes.docker.type"  # "podsandbox" for the infra container, "container" otherwise
INFRA_NAME = "POD"  # dockershim's container name for the sandbox

WORKLOAD = "io.dockyard.kube.workload"  # "<Kind>/<name>" of the object that made the pod
REPLICA = "io.dockyard.kube.replica"
INIT = "io.dockyard.kube.init"  # "true" on init containers
POD_LABELS = "io.dockyard.kube.pod-labels"  # the pod template's labels, JSON (for generate's round trip)
POD_ANNOTATIONS = "io.dockyard.kube.pod-annotations"  # and its annotations
MANAGED = "io.dockyard.kube.managed"  # "true" on networks and volumes play created (and may remove)
CLAIM = "io.dockyard.kube.claim"  # on PVC volumes: the claim's name
CLAIM_TEMPLATE = "io.dockyard.kube.claim-template"  # on a StatefulSet replica's volume: its volumeClaimTemplate

OWN_PREFIXES = ("io.kubernetes.", "io.dockyard.kube.", "com.docker.compose.")
PORTS = "io.dockyard.kube.ports"  # JSON: the container's ports as the pod spec lists them (Docker refuses
# ExposedPorts on a container joined to another's network namespace)
