"""The Go struct each JSON request body is decoded into by dockerd (moby v28's api/types, the v1.50 swagger's
definitions), by route: the fields and their types, for gojson.check. Routes not listed take any JSON.
(containers/create and /update also get daemon/create_types.py's checks, which convert as they check.)"""
from __future__ import annotations

from ..gojson import Map, Slice, StrSlice, Struct

STRS = Slice("string")
STRMAP = Map("string")

ENDPOINT_IPAM = Struct("network.EndpointIPAMConfig", {
    "IPv4Address": "string", "IPv6Address": "string", "LinkLocalIPs": STRS})
ENDPOINT_SETTINGS = Struct("network.EndpointSettings", {
    "IPAMConfig": ENDPOINT_IPAM, "Links": STRS, "Aliases": STRS, "DriverOpts": STRMAP, "GwPriority": "goint",
    "MacAddress": "string", "NetworkID": "string", "EndpointID": "string", "Gateway": "string",
    "IPAddress": "string", "IPPrefixLen": "goint", "IPv6Gateway": "string", "GlobalIPv6Address": "string",
    "GlobalIPv6PrefixLen": "goint", "DNSNames": STRS})

HEALTHCHECK = Struct("container.HealthConfig", {
    "Test": STRS, "Interval": "int", "Timeout": "int", "StartPeriod": "int", "StartInterval": "int",
    "Retries": "goint"})
CONTAINER_CONFIG = Struct("container.Config", {
    "Hostname": "string", "Domainname": "string", "User": "string", "AttachStdin": "bool",
    "AttachStdout": "bool", "AttachStderr": "bool", "ExposedPorts": Map("any"), "Tty": "bool",
    "OpenStdin": "bool", "StdinOnce": "bool", "Env": STRS, "Cmd": StrSlice(), "Healthcheck": HEALTHCHECK,
    "ArgsEscaped": "bool", "Image": "string", "Volumes": Map("any"), "WorkingDir": "string",
    "Entrypoint": StrSlice(), "NetworkDisabled": "bool", "MacAddress": "string", "OnBuild": STRS,
    "Labels": STRMAP, "StopSignal": "string", "StopTimeout": "goint", "Shell": StrSlice()})

NETWORK_IPAM_CONFIG = Struct("network.IPAMConfig", {
    "Subnet": "string", "IPRange": "string", "Gateway": "string", "AuxiliaryAddresses": STRMAP})
NETWORK_CREATE = Struct("network.CreateRequest", {
    "Name": "string", "CheckDuplicate": "bool", "Driver": "string", "Scope": "string", "EnableIPv4": "bool",
    "EnableIPv6": "bool", "Internal": "bool", "Attachable": "bool", "Ingress": "bool", "ConfigOnly": "bool",
    "ConfigFrom": Struct("network.ConfigReference", {"Network": "string"}),
    "IPAM": Struct("network.IPAM", {"Driver": "string", "Options": STRMAP, "Config": Slice(NETWORK_IPAM_CONFIG)}),
    "Options": STRMAP, "Labels": STRMAP})

CONSOLE_SIZE = Slice("uint", go="*[2]uint")

# (method, route path without the /v1.NN prefix) -> the struct its body decodes into
SCHEMAS: dict[tuple[str, str], Struct] = {
    ("POST", "/volumes/create"): Struct("volume.CreateOptions", {
        "Name": "string", "Driver": "string", "DriverOpts": STRMAP, "Labels": STRMAP,
        "ClusterVolumeSpec": Map("any")}),
    ("POST", "/networks/create"): NETWORK_CREATE,
    ("POST", "/networks/{id}/connect"): Struct("network.ConnectOptions", {
        "Container": "string", "EndpointConfig": ENDPOINT_SETTINGS}),
    ("POST", "/networks/{id}/disconnect"): Struct("network.DisconnectOptions", {
        "Container": "string", "Force": "bool"}),
    ("POST", "/containers/{id}/exec"): Struct("container.ExecOptions", {
        "User": "string", "Privileged": "bool", "Tty": "bool", "ConsoleSize": CONSOLE_SIZE,
        "AttachStdin": "bool", "AttachStderr": "bool", "AttachStdout": "bool", "Detach": "bool",
        "DetachKeys": "string", "Env": STRS, "WorkingDir": "string", "Cmd": STRS}),
    ("POST", "/exec/{id}/start"): Struct("container.ExecStartOptions", {
        "Detach": "bool", "Tty": "bool", "ConsoleSize": CONSOLE_SIZE}),
    ("POST", "/commit"): CONTAINER_CONFIG,
    ("POST", "/auth"): Struct("registry.AuthConfig", {
        "username": "string", "password": "string", "auth": "string", "email": "string",
        "serveraddress": "string", "identitytoken": "string", "registrytoken": "string"}),
}
# JSON-valued query parameters of POST /build: (type, moby's words before the decoder's)
BUILD_QUERY_JSON = {
    "buildargs": (Map("string", go="map[string]*string"), "error reading build args"),
    "labels": (STRMAP, "error reading labels"),
    "cachefrom": (STRS, "error reading cache-from"),
    "ulimits": (Slice(Struct("units.Ulimit", {"Name": "string", "Hard": "int", "Soft": "int"}), go="[]*units.Ulimit"),
                "error reading ulimit settings"),
}

# containers/create: the parts daemon/create_types.py does not look into (it checks the rest, in its words)
MOUNT_OPTIONS = Struct("mount.Mount", {
    "BindOptions": Struct("mount.BindOptions", {
        "Propagation": "string", "NonRecursive": "bool", "CreateMountpoint": "bool",
        "ReadOnlyNonRecursive": "bool", "ReadOnlyForceRecursive": "bool"}),
    "VolumeOptions": Struct("mount.VolumeOptions", {
        "NoCopy": "bool", "Labels": STRMAP, "Subpath": "string",
        "DriverConfig": Struct("mount.Driver", {"Name": "string", "Options": STRMAP})}),
    "ImageOptions": Struct("mount.ImageOptions", {"Subpath": "string"}),
    "TmpfsOptions": Struct("mount.TmpfsOptions", {"SizeBytes": "int", "Mode": "uint", "Options": Slice(STRS)})})
SCHEMAS[("POST", "/containers/create")] = Struct("container.ContainerConfigWrapper", {
    "Healthcheck": HEALTHCHECK, "HostConfig": Struct("container.HostConfig", {"Mounts": Slice(MOUNT_OPTIONS)}),
    "NetworkingConfig": Struct("network.NetworkingConfig", {"EndpointsConfig": Map(ENDPOINT_SETTINGS)})})
