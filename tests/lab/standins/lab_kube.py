# offlinekit lab stand-in: kubeadm, kubectl and chronyd for the lab hosts, which cannot run them.
# Run by the bash wrappers of the same names (after _standin.sh has checked OFFLINEKIT_ROOT, recorded
# the call and honoured a fail/<tool> file):  python3 lab_kube.py TOOL ARGS...
#
# Each imitates the real tool's CLI as on a CentOS 8 host, validates its input as the real tool does
# (kubeadm parses the config strictly, runs its preflight checks against the host's root and its own
# dockerd), keeps its state under $OFFLINEKIT_ROOT and never touches this machine's /etc, /root or /var.
# The cluster the hosts share (what the API server would hold) is $OFFLINEKIT_LAB_CLUSTER/cluster.json,
# changed under an flock since workers join in parallel.
import base64
import contextlib
import datetime
import fcntl
import glob
import hashlib
import ipaddress
import json
import os
import re
import secrets
import shutil
import string
import subprocess
import sys
import time
import tomllib

import yaml

MARK = "(offlinekit lab stand-in)"
ROOT = os.environ["OFFLINEKIT_ROOT"].rstrip("/")
STATE = os.path.join(ROOT, "var/lib/offlinekit-standins")
TOKEN_RE = re.compile(r"^[a-z0-9]{6}\.[a-z0-9]{16}$")
HASH_RE = re.compile(r"^sha256:[0-9a-f]{64}$")
DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
# kubeadm's image list per release: the catalog offlinekit embeds (one copy of those facts).
IMAGE_CATALOG = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "manifests", "kubeadm-images.yaml")


class Fail(Exception):
    def __init__(self, message, code=1):
        super().__init__(message)
        self.code = code


def out(text=""):
    sys.stdout.write(text + "\n")


def err(text):
    sys.stderr.write(text + "\n")


def under_root(path):
    """A host path (/etc/...) as the lab host's file; a path already under the root stays."""
    if path == ROOT or path.startswith(ROOT + "/"):
        return path
    return ROOT + "/" + path.lstrip("/")


def input_path(path):
    """A file the caller hands in (a config, a manifest): the lab host's copy when it has one, else the path as given
    (a file the caller made elsewhere, as a bundle's manifests are)."""
    if path == ROOT or path.startswith(ROOT + "/") or not path.startswith("/"):
        return path
    mapped = under_root(path)
    return mapped if os.path.exists(mapped) else path


def run(args, stdin=None):
    p = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, input=stdin)
    return p.returncode, p.stdout, p.stderr


def installed_version(package, tool):
    code, stdout, _ = run(["rpm", "--root", ROOT, "-q", "--qf", "%{VERSION}", package])
    if code != 0 or not stdout.strip():
        err(f"bash: {tool}: command not found")
        sys.exit(127)
    return stdout.strip()


def routable(address):
    """The lab way: `ip route get` names a route (lab namespaces have none outside the lab)."""
    code, _, _ = run(["ip", "route", "get", address])
    return code == 0


def is_local(address):
    """An address of this host: one `ip -o addr show` lists, or one the kernel routes as local (127.0.10.x on lo)."""
    if address in host_addresses():
        return True
    code, stdout, _ = run(["ip", "route", "get", address])
    return code == 0 and stdout.startswith("local ")


def host_addresses():
    code, stdout, _ = run(["ip", "-o", "addr", "show"])
    found = set()
    for line in stdout.splitlines():
        m = re.search(r"\binet6? ([0-9a-fA-F.:]+)", line)
        if m:
            found.add(m.group(1))
    return found


def docker_host():
    return os.environ.get("DOCKER_HOST", "")


def docker(*args):
    return run(["docker", "-H", docker_host(), *args])


def image_present(ref):
    """In this host's containerd (namespace k8s.io) when it runs one, else in its dockerd."""
    address = os.environ.get("CONTAINERD_ADDRESS")
    if address and os.path.exists(address):
        code, listed, _ = ctr("-n", "k8s.io", "images", "ls", "-q")
        if code == 0 and ref in listed.split():
            return True
    return docker("image", "inspect", "--format", "{{.Id}}", ref)[0] == 0


def unit_state(unit, suffix, root=ROOT):
    return os.path.exists(os.path.join(root, "var/lib/offlinekit-standins/systemd", f"{unit}.{suffix}"))


def set_kubelet_active(active):
    units = os.path.join(STATE, "systemd")
    os.makedirs(units, exist_ok=True)
    path = os.path.join(units, "kubelet.active")
    if active:
        open(path, "a").close()
    elif os.path.exists(path):
        os.remove(path)


def hostname():
    try:
        with open(os.path.join(ROOT, "etc/hostname")) as f:
            return f.read().strip().lower()
    except OSError:
        return ""


def write(relative, text, mode=0o644):
    path = os.path.join(ROOT, relative)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, mode)
    return path


def now():
    return datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)


def iso(t):
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_duration(text):
    """A Go duration (24h0m0s, 90m, 0) as seconds; None when it is not one."""
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        return None
    text = str(text)
    if text == "0":
        return 0
    m = re.fullmatch(r"((?:\d+(?:\.\d+)?(?:h|m|s|ms|us|ns))+)", text)
    if not m:
        return None
    units = {"h": 3600, "m": 60, "s": 1, "ms": 1e-3, "us": 1e-6, "ns": 1e-9}
    return sum(float(n) * units[u] for n, u in re.findall(r"(\d+(?:\.\d+)?)(h|ms|us|ns|m|s)", text))


def new_token():
    alphabet = string.ascii_lowercase + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(6)) + "." + "".join(secrets.choice(alphabet) for _ in range(16))


# ---------------------------------------------------------------- the shared cluster state


class Cluster:
    """$OFFLINEKIT_LAB_CLUSTER/cluster.json under an exclusive flock for the whole command."""

    def __init__(self, required=True):
        self.dir = os.environ.get("OFFLINEKIT_LAB_CLUSTER", "")
        if not self.dir or not self.dir.startswith("/"):
            if required:
                raise Fail(f"{MARK} OFFLINEKIT_LAB_CLUSTER is not set to the lab's cluster folder (an absolute path); refusing", 3)
            self.dir = ""
        self.data = None
        self._lock = None

    def __enter__(self):
        if self.dir:
            os.makedirs(self.dir, exist_ok=True)
            self._lock = open(os.path.join(self.dir, "cluster.lock"), "a")
            fcntl.flock(self._lock, fcntl.LOCK_EX)
            path = os.path.join(self.dir, "cluster.json")
            if os.path.exists(path):
                with open(path) as f:
                    self.data = json.load(f)
        return self

    def __exit__(self, *exc):
        if self._lock:
            fcntl.flock(self._lock, fcntl.LOCK_UN)
            self._lock.close()

    def save(self):
        path = os.path.join(self.dir, "cluster.json")
        tmp = path + ".tmp"
        with open(tmp, "w") as f:
            json.dump(self.data, f, indent=2, sort_keys=True)
            f.write("\n")
        os.replace(tmp, path)

    def delete(self):
        path = os.path.join(self.dir, "cluster.json")
        if os.path.exists(path):
            os.remove(path)
        self.data = None

    def live_tokens(self):
        t = now()
        live = []
        for token in self.data.get("tokens", []):
            if token.get("expires") and datetime.datetime.strptime(token["expires"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.timezone.utc) <= t:
                continue
            live.append(token)
        return live


# ---------------------------------------------------------------- kubeadm: configuration

# The real v1beta3 (and v1beta2) fields; None means "a value, not checked further", a dict a nested object,
# a list of one dict a list of such objects.
EXTRA = {"extraArgs": None, "extraVolumes": None}
BOOTSTRAP_TOKEN = {"token": None, "description": None, "ttl": None, "expires": None, "usages": None, "groups": None}
NODE_REGISTRATION = {"name": None, "criSocket": None, "taints": None, "kubeletExtraArgs": None, "ignorePreflightErrors": None, "imagePullPolicy": None}
INIT_V1BETA3 = {
    "apiVersion": None, "kind": None,
    "bootstrapTokens": [BOOTSTRAP_TOKEN],
    "nodeRegistration": NODE_REGISTRATION,
    "localAPIEndpoint": {"advertiseAddress": None, "bindPort": None},
    "certificateKey": None, "skipPhases": None, "patches": {"directory": None},
}
CLUSTER_V1BETA3 = {
    "apiVersion": None, "kind": None,
    "etcd": {
        "local": {"imageRepository": None, "imageTag": None, "dataDir": None, "extraArgs": None, "serverCertSANs": None, "peerCertSANs": None},
        "external": {"endpoints": None, "caFile": None, "certFile": None, "keyFile": None},
    },
    "networking": {"serviceSubnet": None, "podSubnet": None, "dnsDomain": None},
    "kubernetesVersion": None, "controlPlaneEndpoint": None,
    "apiServer": {"certSANs": None, "timeoutForControlPlane": None, **EXTRA},
    "controllerManager": dict(EXTRA), "scheduler": dict(EXTRA),
    "dns": {"imageRepository": None, "imageTag": None},
    "certificatesDir": None, "imageRepository": None, "featureGates": None, "clusterName": None,
}
# v1beta2 (deprecated in 1.23, still read): no skipPhases/patches; dns has a type; useHyperKubeImage.
INIT_V1BETA2 = {k: v for k, v in INIT_V1BETA3.items() if k not in ("skipPhases", "patches")}
INIT_V1BETA2["nodeRegistration"] = {k: v for k, v in NODE_REGISTRATION.items() if k != "imagePullPolicy"}
CLUSTER_V1BETA2 = dict(CLUSTER_V1BETA3, dns={"type": None, "imageRepository": None, "imageTag": None}, useHyperKubeImage=None)
DISCOVERY_V1BETA3 = {
    "bootstrapToken": {"token": None, "apiServerEndpoint": None, "caCertHashes": None, "unsafeSkipCAVerification": None},
    "file": {"kubeConfigPath": None}, "tlsBootstrapToken": None, "timeout": None,
}
JOIN_V1BETA3 = {
    "apiVersion": None, "kind": None, "caCertPath": None, "discovery": DISCOVERY_V1BETA3,
    "nodeRegistration": NODE_REGISTRATION, "controlPlane": {"localAPIEndpoint": {"advertiseAddress": None, "bindPort": None}, "certificateKey": None},
    "skipPhases": None, "patches": {"directory": None},
}
# v1beta4 (kubeadm 1.31+): extraArgs are lists of {name, value}; the timeouts move under `timeouts`
# (apiServer.timeoutForControlPlane and discovery.timeout are gone); nodeRegistration gains imagePullSerial.
ARG_LIST = [{"name": None, "value": None}]
EXTRA_V1BETA4 = {"extraArgs": ARG_LIST, "extraVolumes": None, "extraEnvs": None}
NODE_REGISTRATION_V1BETA4 = dict(NODE_REGISTRATION, kubeletExtraArgs=ARG_LIST, imagePullSerial=None)
TIMEOUTS_V1BETA4 = {"controlPlaneComponentHealthCheck": None, "kubeletHealthCheck": None, "kubernetesAPICall": None,
                    "etcdAPICall": None, "tlsBootstrap": None, "discovery": None, "upgradeManifests": None}
INIT_V1BETA4 = dict(INIT_V1BETA3, nodeRegistration=NODE_REGISTRATION_V1BETA4, dryRun=None, timeouts=TIMEOUTS_V1BETA4)
CLUSTER_V1BETA4 = dict(
    CLUSTER_V1BETA3,
    apiServer={"certSANs": None, **EXTRA_V1BETA4},
    controllerManager=dict(EXTRA_V1BETA4), scheduler=dict(EXTRA_V1BETA4),
    dns={"imageRepository": None, "imageTag": None, "disabled": None},
    proxy={"disabled": None}, encryptionAlgorithm=None, certificateValidityPeriod=None, caCertificateValidityPeriod=None,
    etcd={"local": {"imageRepository": None, "imageTag": None, "dataDir": None, "extraArgs": ARG_LIST, "extraEnvs": None, "serverCertSANs": None, "peerCertSANs": None},
          "external": {"endpoints": None, "caFile": None, "certFile": None, "keyFile": None}},
)
JOIN_V1BETA4 = dict(JOIN_V1BETA3, nodeRegistration=NODE_REGISTRATION_V1BETA4, dryRun=None, timeouts=TIMEOUTS_V1BETA4,
                    discovery={k: v for k, v in DISCOVERY_V1BETA3.items() if k != "timeout"})
KUBEADM_SCHEMAS = {
    "kubeadm.k8s.io/v1beta4": {"InitConfiguration": INIT_V1BETA4, "ClusterConfiguration": CLUSTER_V1BETA4, "JoinConfiguration": JOIN_V1BETA4},
    "kubeadm.k8s.io/v1beta3": {"InitConfiguration": INIT_V1BETA3, "ClusterConfiguration": CLUSTER_V1BETA3, "JoinConfiguration": JOIN_V1BETA3},
    "kubeadm.k8s.io/v1beta2": {"InitConfiguration": INIT_V1BETA2, "ClusterConfiguration": CLUSTER_V1BETA2},
}


def kubeadm_apis(version):
    """The kubeadm config APIs the installed kubeadm reads: v1beta2 until 1.25, v1beta3 from 1.22, v1beta4 from 1.31."""
    minor = int(version.split(".")[1])
    apis = set()
    if minor <= 25:
        apis.add("kubeadm.k8s.io/v1beta2")
    if minor >= 22:
        apis.add("kubeadm.k8s.io/v1beta3")
    if minor >= 31:
        apis.add("kubeadm.k8s.io/v1beta4")
    return apis
COMPONENT_KINDS = {"kubelet.config.k8s.io/v1beta1": "KubeletConfiguration", "kubeproxy.config.k8s.io/v1alpha1": "KubeProxyConfiguration"}


def strict(value, schema, path):
    """kubeadm's strict decoding: an unknown field is an error naming it."""
    if schema is None:
        return
    if isinstance(schema, list):
        if value is None:
            return
        if not isinstance(value, list):
            raise Fail(f'error unmarshaling JSON: while decoding JSON: json: cannot unmarshal {type(value).__name__} into Go struct field {path} of type []')
        for i, item in enumerate(value):
            strict(item, schema[0], f"{path}[{i}]")
        return
    if value is None:
        return
    if not isinstance(value, dict):
        raise Fail(f"error unmarshaling JSON: while decoding JSON: json: cannot unmarshal {type(value).__name__} into Go struct field {path} of type object")
    for key, item in value.items():
        if key not in schema:
            raise Fail(f'error unmarshaling JSON: while decoding JSON: json: unknown field "{key}"')
        strict(item, schema[key], f"{path}.{key}" if path else key)


def load_kubeadm_config(path, version, wanted=("InitConfiguration", "ClusterConfiguration")):
    try:
        with open(path) as f:
            text = f.read()
    except OSError as e:
        raise Fail(f"unable to read config from {path!r} : {e}")
    try:
        documents = [d for d in yaml.safe_load_all(text) if d is not None]
    except yaml.YAMLError as e:
        raise Fail(f"error converting YAML to JSON: {e}")
    found = {}
    for doc in documents:
        if not isinstance(doc, dict):
            raise Fail("error unmarshaling JSON: while decoding JSON: json: cannot unmarshal array into Go value of type map[string]interface {}")
        api, kind = doc.get("apiVersion"), doc.get("kind")
        if not api or not kind:
            raise Fail(f"invalid configuration for GroupVersionKind {api or ''}, Kind={kind or ''}: kind and apiVersion is mandatory information that must be specified")
        if api.startswith("kubeadm.k8s.io/"):
            if api not in KUBEADM_SCHEMAS:
                if api in ("kubeadm.k8s.io/v1beta1", "kubeadm.k8s.io/v1alpha3", "kubeadm.k8s.io/v1alpha2", "kubeadm.k8s.io/v1alpha1"):
                    raise Fail(f"your configuration file uses an old API spec: \"{api}\". Please use kubeadm v1.20 instead and run 'kubeadm config migrate --old-config old.yaml --new-config new.yaml', which will write the new, similar spec using a newer API version.")
                raise Fail(f'no kind "{kind}" is registered for version "{api}" in scheme "k8s.io/kubernetes/cmd/kubeadm/app/apis/kubeadm/scheme/scheme.go:31"')
            if api not in kubeadm_apis(version):
                raise Fail(f'no kind "{kind}" is registered for version "{api}" in scheme "k8s.io/kubernetes/cmd/kubeadm/app/apis/kubeadm/scheme/scheme.go:31" (kubeadm v{version} does not read {api} {MARK})')
            schemas = KUBEADM_SCHEMAS[api]
            if kind not in schemas:
                raise Fail(f'no kind "{kind}" is registered for version "{api}" in scheme "k8s.io/kubernetes/cmd/kubeadm/app/apis/kubeadm/scheme/scheme.go:31"')
            if api.endswith("v1beta2"):
                err(f'W0000 00:00:00.000000 {os.getpid()} common.go:83] your configuration file uses a deprecated API spec: "{api}". Please use \'kubeadm config migrate --old-config old.yaml --new-config new.yaml\', which will write the new, similar spec using a newer API version.')
            strict(doc, schemas[kind], "")
        elif COMPONENT_KINDS.get(api) == kind:
            pass
        else:
            raise Fail(f'no kind "{kind}" is registered for version "{api}" in scheme "k8s.io/kubernetes/cmd/kubeadm/app/apis/kubeadm/scheme/scheme.go:31" {MARK}')
        if kind in found:
            raise Fail(f"found multiple {kind} documents in {path}")
        found[kind] = doc
    if not any(k in found for k in wanted):
        raise Fail(f"no {' or '.join(wanted)} kind was found in the YAML file {path}")
    return found, text


def field_error(errors, path, value, why):
    errors.append(f"{path}: Invalid value: {json.dumps(value)}: {why}")


def cidr(text):
    try:
        return ipaddress.ip_network(str(text), strict=False)
    except ValueError:
        return None


def kubeadm_release(version):
    """What kubeadm vX prints for `kubeadm config images list`, as manifests/kubeadm-images.yaml records it: the
    image order, the default registry and the etcd, pause and coredns tags of that patch release."""
    major, minor, patch = (int(x) for x in version.lstrip("v").split("."))
    with open(IMAGE_CATALOG) as f:
        data = yaml.safe_load(f)

    def within(text):
        low, high = (int(x) for x in str(text).split("-"))
        return low <= patch <= high

    for release in data["releases"]:
        if release["minor"] == f"{major}.{minor}" and within(release["patches"]):
            pick = lambda key: next(r["value"] for r in release[key] if within(r["patches"]))
            return {"order": data["layouts"][release["order"]], "registry": pick("defaultRegistry"),
                    "etcd": str(pick("etcd")), "pause": str(pick("pause")), "coredns": str(pick("coredns"))}
    raise Fail(f"{MARK} kubeadm v{version.lstrip('v')} is not a release manifests/kubeadm-images.yaml lists; the stand-in cannot know its images", 3)


def images_for(repo, version, etcd=None, dns=None):
    """kubeadm's image list (`kubeadm config images list`) for the installed version and an imageRepository,
    by component in kubeadm's order, from the catalog (kubeadm_release)."""
    facts = kubeadm_release(version)
    repo = repo or facts["registry"]
    v = "v" + version.lstrip("v")
    etcd = etcd or {}
    dns = dns or {}
    # The extra "coredns/" segment only under kubeadm's default registry (images.go GetDNSImage).
    coredns_repo = dns.get("imageRepository") or (repo + "/coredns" if repo == facts["registry"] else repo)
    images = {
        "kube-apiserver": f"{repo}/kube-apiserver:{v}",
        "kube-controller-manager": f"{repo}/kube-controller-manager:{v}",
        "kube-scheduler": f"{repo}/kube-scheduler:{v}",
        "kube-proxy": f"{repo}/kube-proxy:{v}",
        "pause": f"{repo}/pause:{facts['pause']}",
        "etcd": f"{etcd.get('imageRepository') or repo}/etcd:{etcd.get('imageTag') or facts['etcd']}",
        "coredns": f"{coredns_repo}/coredns:{dns.get('imageTag') or facts['coredns']}",
    }
    return {name: images[name] for name in facts["order"]}


def kubelet_flags(version, cri, pause):
    """/var/lib/kubelet/kubeadm-flags.env as kubeadm writes it: dockershim's network plugin up to 1.23, the CRI endpoint after."""
    minor = int(version.lstrip("v").split(".")[1])
    if minor <= 23:
        return f'KUBELET_KUBEADM_ARGS="--network-plugin=cni --pod-infra-container-image={pause}"\n'
    return f'KUBELET_KUBEADM_ARGS="--container-runtime-endpoint={cri} --pod-infra-container-image={pause}"\n'


def validate_init(docs, version):
    """Defaults and validates the config as kubeadm does; returns the settings init uses."""
    init = docs.get("InitConfiguration") or {}
    cluster = docs.get("ClusterConfiguration") or {}
    kubelet = docs.get("KubeletConfiguration") or {}
    proxy = docs.get("KubeProxyConfiguration") or {}
    errors = []

    tokens = []
    for i, bt in enumerate(init.get("bootstrapTokens") or []):
        token = bt.get("token")
        if not isinstance(token, str) or not TOKEN_RE.match(token):
            errors.append(f'bootstrapTokens[{i}].token: Invalid value: "": the bootstrap token was not of the form "^([a-z0-9]{{6}})\\\\.([a-z0-9]{{16}})$"')
            continue
        ttl = bt.get("ttl", "24h0m0s")
        seconds = parse_duration(ttl)
        if seconds is None:
            field_error(errors, f"bootstrapTokens[{i}].ttl", ttl, "not a duration (like 24h0m0s)")
            continue
        expires = bt.get("expires")
        if expires is None and seconds > 0:
            expires = iso(now() + datetime.timedelta(seconds=seconds))
        for usage in bt.get("usages") or []:
            if usage not in ("signing", "authentication"):
                field_error(errors, f"bootstrapTokens[{i}].usages", usage, 'usages can be "signing" or "authentication"')
        tokens.append({"token": token, "expires": expires, "description": bt.get("description", "")})

    node = init.get("nodeRegistration") or {}
    name = node.get("name") or hostname()
    if not isinstance(name, str) or not name or len(name) > 253 or not DNS1123_SUBDOMAIN.match(name):
        field_error(errors, "nodeRegistration.name", name, "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character")
    cri = node.get("criSocket") or "/var/run/dockershim.sock"
    runtime = cri_runtime(cri)
    if runtime is None:
        field_error(errors, "nodeRegistration.criSocket", cri, "not a known container runtime socket (dockershim or containerd)")

    endpoint = init.get("localAPIEndpoint") or {}
    address = endpoint.get("advertiseAddress")
    if address is None:
        raise Fail("unable to select an IP from default routes.")
    try:
        ip = ipaddress.ip_address(str(address))
    except ValueError:
        ip = None
        field_error(errors, "localAPIEndpoint.advertiseAddress", address, "must be a valid IP address")
    if ip is not None and not is_local(str(ip)):
        field_error(errors, "localAPIEndpoint.advertiseAddress", address, f"is not an address of this host (`ip -o addr show`) {MARK}")
    port = endpoint.get("bindPort", 6443)
    if not isinstance(port, int) or isinstance(port, bool) or not 1 <= port <= 65535:
        field_error(errors, "localAPIEndpoint.bindPort", port, "must be a valid port number between 1 and 65535, inclusive")

    wanted = cluster.get("kubernetesVersion")
    if wanted is None:
        err(f'W0000 00:00:00.000000 {os.getpid()} version.go:103] could not fetch a Kubernetes version from the internet: unable to get URL "https://dl.k8s.io/release/stable-1.txt": Get "https://dl.k8s.io/release/stable-1.txt": dial tcp: lookup dl.k8s.io: no such host')
        err(f"W0000 00:00:00.000000 {os.getpid()} version.go:104] falling back to the local client version: v{version}")
        wanted = "v" + version
    if str(wanted).lstrip("v") != version:
        field_error(errors, "kubernetesVersion", wanted, f"this kubeadm is v{version} (the kubeadm RPM installed on this host); it deploys that version only {MARK}")

    networking = cluster.get("networking") or {}
    service = networking.get("serviceSubnet", "10.96.0.0/12")
    pod = networking.get("podSubnet")
    dns_domain = networking.get("dnsDomain", "cluster.local")
    service_net = cidr(service)
    if service_net is None:
        field_error(errors, "networking.serviceSubnet", service, "couldn't parse subnet")
    pod_net = None
    if pod is not None:
        pod_net = cidr(pod)
        if pod_net is None:
            field_error(errors, "networking.podSubnet", pod, "couldn't parse subnet")
    if service_net and pod_net and service_net.version == pod_net.version and service_net.overlaps(pod_net):
        field_error(errors, "networking.podSubnet", pod, f"overlaps with the serviceSubnet {service}")
    for label, net, text in (("networking.serviceSubnet", service_net, service), ("networking.podSubnet", pod_net, pod)):
        if net and ip and net.version == ip.version and ip in net:
            field_error(errors, label, text, f"contains the advertiseAddress {address}")
    if not isinstance(dns_domain, str) or not DNS1123_SUBDOMAIN.match(dns_domain):
        field_error(errors, "networking.dnsDomain", dns_domain, "a lowercase RFC 1123 subdomain")

    cpe = cluster.get("controlPlaneEndpoint")
    if cpe:
        host, _, cpe_port = str(cpe).rpartition(":") if ":" in str(cpe) else (str(cpe), "", "")
        if cpe_port and (not cpe_port.isdigit() or not 1 <= int(cpe_port) <= 65535):
            field_error(errors, "controlPlaneEndpoint", cpe, "port must be a valid number between 1 and 65535, inclusive")
        if not host:
            field_error(errors, "controlPlaneEndpoint", cpe, "must be host[:port]")

    repo = cluster.get("imageRepository") or kubeadm_release(version)["registry"]
    if not isinstance(repo, str) or " " in repo:
        field_error(errors, "imageRepository", repo, "not an image repository")

    driver = kubelet.get("cgroupDriver", "systemd")
    if driver not in ("systemd", "cgroupfs"):
        field_error(errors, "KubeletConfiguration.cgroupDriver", driver, 'must be "systemd" or "cgroupfs"')
    mode = proxy.get("mode", "")
    if mode not in ("", "iptables", "ipvs"):
        field_error(errors, "KubeProxyConfiguration.mode", mode, 'must be "iptables" or "ipvs" on Linux')

    if errors:
        raise Fail("[" + ", ".join(errors) + "]")
    if not tokens:
        tokens.append({"token": new_token(), "expires": iso(now() + datetime.timedelta(hours=24)), "description": ""})
    api_endpoint = str(cpe) if cpe else f"{address}:{port}"
    if cpe and ":" not in str(cpe):
        api_endpoint = f"{cpe}:{port}"
    return {
        "name": name, "cri": cri, "runtime": runtime, "address": str(address), "port": port,
        "version": "v" + version, "serviceSubnet": str(service), "podSubnet": str(pod) if pod else None,
        "dnsDomain": dns_domain, "endpoint": api_endpoint, "stableEndpoint": bool(cpe), "imageRepository": repo, "tokens": tokens,
        "cgroupDriver": driver, "clusterName": cluster.get("clusterName") or "kubernetes",
        "images": images_for(repo, version, (cluster.get("etcd") or {}).get("local"), cluster.get("dns")),
        "pause": images_for(repo, version)["pause"],
        "ignore": [str(x) for x in (node.get("ignorePreflightErrors") or [])],
    }


def cri_runtime(socket):
    s = str(socket)
    s = s[len("unix://"):] if s.startswith("unix://") else s
    if s in ("/var/run/dockershim.sock", "/run/dockershim.sock"):
        return "docker"
    if s in ("/run/containerd/containerd.sock", "/var/run/containerd/containerd.sock"):
        return "containerd"
    return None


# ---------------------------------------------------------------- kubeadm: preflight


class Preflight:
    def __init__(self, ignore):
        self.ignore = {i.strip().lower() for i in ignore if i.strip()}
        self.errors = []
        self.warnings = []

    def check(self, ok, name, message):
        if ok:
            return
        if "all" in self.ignore or name.lower() in self.ignore:
            self.warnings.append(f"\t[WARNING {name}]: {message}")
        else:
            self.errors.append(f"\t[ERROR {name}]: {message}")

    def finish(self):
        for w in self.warnings:
            err(w)
        self.warnings = []
        if self.errors:
            text = "error execution phase preflight: [preflight] Some fatal errors occurred:\n" + "\n".join(self.errors)
            text += "\n[preflight] If you know what you are doing, you can make a check non-fatal with `--ignore-preflight-errors=...`"
            text += "\nTo see the stack trace of this error execute with --v=5 or higher"
            raise Fail(text)


def proc_file(relative):
    try:
        with open(os.path.join(ROOT, relative)) as f:
            return f.read()
    except OSError:
        return None


def systemctl(*args):
    return run(["systemctl", *args])[0] == 0


def host_preflight(pf, runtime):
    """kubeadm's system checks, read from the lab host's root and its stand-ins' state."""
    pf.check(os.geteuid() == 0, "IsPrivilegedUser", "user is not running as root")
    swaps = proc_file("proc/swaps")
    pf.check(swaps is None or len([l for l in swaps.splitlines()[1:] if l.strip()]) == 0, "Swap", "running with swap on is not supported. Please disable swap")
    for key in ("net/bridge/bridge-nf-call-iptables", "net/ipv4/ip_forward"):
        value = proc_file("proc/sys/" + key)
        name = "FileContent--proc-sys-" + key.replace("/", "-")
        if value is None:
            pf.check(False, name, f"/proc/sys/{key} does not exist")
        else:
            pf.check(value.strip() == "1", name, f"/proc/sys/{key} contents are not set to 1")
    if runtime == "docker":
        pf.check(systemctl("is-active", "--quiet", "docker"), "Service-Docker", "docker service is not active, please run 'systemctl start docker.service'")
    else:
        pf.check(systemctl("is-active", "--quiet", "containerd"), "CRI", f"containerd service is not active {MARK}")
    pf.check(systemctl("is-enabled", "--quiet", "kubelet"), "Service-Kubelet", f"kubelet service is not enabled, please run 'systemctl enable kubelet.service' {MARK}: an error here, a warning in kubeadm")


def docker_preflight(pf, images, cgroup_driver):
    """The images step: each image must already be in this host's dockerd (the hosts are offline)."""
    if not docker_host():
        raise Fail(f"{MARK} DOCKER_HOST is not set: the stand-in looks for images in this lab host's own dockerd; refusing", 3)
    code, info, stderr = docker("info", "--format", "{{.CgroupDriver}}")
    if code != 0:
        pf.check(False, "CRI", f"container runtime is not running: output: {stderr.strip()}, error: exit status 1")
        pf.finish()
        return
    actual = info.strip()
    if actual != cgroup_driver:
        raise Fail(f'{MARK} the kubelet\'s cgroupDriver is "{cgroup_driver}" but docker\'s is "{actual}" (docker info): the kubelet would not start ("misconfiguration: kubelet cgroup driver: \\"{cgroup_driver}\\" is different from docker cgroup driver: \\"{actual}\\""). kubeadm 1.23 only warns; the stand-in fails')
    for ref in images:
        pf.check(image_present(ref), "ImagePull", f'failed to pull image {ref}: output: Error response from daemon: Get "https://{ref.split("/")[0]}/v2/": dial tcp: lookup {ref.split("/")[0]}: no such host (offline: the image is not in this host\'s docker {MARK}), error: exit status 1')
    pf.finish()


def ctr(*args):
    return run(["ctr", "--address", os.environ.get("CONTAINERD_ADDRESS", ""), *args])


def containerd_settings():
    """The sandbox image, SystemdCgroup and disabled plugins of the host's config.toml, as containerd itself reads it (`containerd config dump`)."""
    path = os.path.join(ROOT, "etc/containerd/config.toml")
    code, stdout, stderr = run(["containerd", "--config", path, "config", "dump"])
    if code != 0:
        raise Fail(f"{MARK} containerd cannot read /etc/containerd/config.toml: {stderr.strip()}")
    config = tomllib.loads(stdout)
    plugins = config.get("plugins") or {}
    if config.get("version", 1) >= 3:
        sandbox = ((plugins.get("io.containerd.cri.v1.images") or {}).get("pinned_images") or {}).get("sandbox")
        runtime = plugins.get("io.containerd.cri.v1.runtime") or {}
    else:
        cri = plugins.get("io.containerd.grpc.v1.cri") or {}
        sandbox = cri.get("sandbox_image")
        runtime = cri
    runc = ((((runtime.get("containerd") or {}).get("runtimes") or {}).get("runc") or {}).get("options") or {})
    return sandbox, bool(runc.get("SystemdCgroup", False)), config.get("disabled_plugins") or []


def containerd_preflight(pf, images, cgroup_driver, pause):
    """The images step for containerd: the CRI plugin on, the sandbox image kubeadm's pause image and present,
    the cgroup driver agreeing with SystemdCgroup, every image in the k8s.io namespace (read with the real ctr)."""
    if not os.environ.get("CONTAINERD_ADDRESS"):
        raise Fail(f"{MARK} CONTAINERD_ADDRESS is not set: the stand-in looks for images in this lab host's own containerd; refusing", 3)
    code, _, stderr = ctr("version")
    if code != 0:
        pf.check(False, "CRI", f"container runtime is not running: output: {stderr.strip()}, error: exit status 1")
        pf.finish()
        return
    sandbox, systemd, disabled = containerd_settings()
    if "cri" in disabled or "io.containerd.grpc.v1.cri" in disabled:
        pf.check(False, "CRI", 'container runtime is not running: output: time="..." level=fatal msg="validate service connection: CRI v1 runtime API is not implemented for endpoint \"unix:///run/containerd/containerd.sock\""')
    if sandbox != pause:
        raise Fail(f'{MARK} containerd\'s sandbox image is "{sandbox}" but kubeadm\'s pause image is "{pause}": the kubelet would pull another pause image offline (kubeadm 1.28+ warns "detected that the sandbox image ... of the container runtime is inconsistent with that used by kubeadm"); the stand-in fails')
    if systemd != (cgroup_driver == "systemd"):
        raise Fail(f'{MARK} the kubelet\'s cgroupDriver is "{cgroup_driver}" but containerd\'s runc has SystemdCgroup = {str(systemd).lower()}: the kubelet and containerd would manage cgroups differently; the stand-in fails')
    code, listed, stderr = ctr("-n", "k8s.io", "images", "ls", "-q")
    present = set(listed.split())
    for ref in list(images) + [pause]:
        pf.check(ref in present, "ImagePull", f'failed to pull image {ref}: output: time="..." level=fatal msg="pulling image: rpc error: code = Unknown desc = failed to resolve reference \"{ref}\": dial tcp: lookup {ref.split("/")[0]}: no such host" (offline: the image is not in this host\'s containerd, namespace k8s.io {MARK}), error: exit status 1')
    pf.finish()


def runtime_preflight(pf, runtime, images, cgroup_driver, pause):
    if runtime == "docker":
        docker_preflight(pf, images, cgroup_driver)
    else:
        containerd_preflight(pf, images, cgroup_driver, pause)


# ---------------------------------------------------------------- kubeadm: files


def make_ca():
    pki = os.path.join(ROOT, "etc/kubernetes/pki")
    os.makedirs(pki, exist_ok=True)
    code, _, stderr = run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-sha256", "-days", "3650",
                           "-subj", "/CN=kubernetes", "-keyout", os.path.join(pki, "ca.key"), "-out", os.path.join(pki, "ca.crt")])
    if code != 0:
        raise Fail(f"{MARK} openssl could not make the cluster CA: {stderr.strip()}")
    os.chmod(os.path.join(pki, "ca.key"), 0o600)
    with open(os.path.join(pki, "ca.crt")) as f:
        return f.read()


def ca_cert_hash(ca_pem):
    """kubeadm's discovery-token-ca-cert-hash: sha256 over the CA's DER SubjectPublicKeyInfo."""
    code, pub, stderr = run(["openssl", "x509", "-noout", "-pubkey"], stdin=ca_pem)
    if code != 0:
        raise Fail(f"{MARK} openssl could not read the CA: {stderr.strip()}")
    body = "".join(l for l in pub.splitlines() if l and not l.startswith("-----"))
    return "sha256:" + hashlib.sha256(base64.b64decode(body)).hexdigest()


def kubeconfig(server, cluster_name, user, ca_pem):
    fake = base64.b64encode(f"offlinekit lab stand-in: no real credential for {user}\n".encode()).decode()
    return yaml.safe_dump({
        "apiVersion": "v1",
        "clusters": [{"cluster": {"certificate-authority-data": base64.b64encode(ca_pem.encode()).decode(), "server": server}, "name": cluster_name}],
        "contexts": [{"context": {"cluster": cluster_name, "user": user}, "name": f"{user}@{cluster_name}"}],
        "current-context": f"{user}@{cluster_name}",
        "kind": "Config",
        "preferences": {},
        "users": [{"name": user, "user": {"client-certificate-data": fake, "client-key-data": fake}}],
    }, sort_keys=False)


def kubelet_config(cgroup_driver, dns_domain, service_subnet):
    dns = str(list(ipaddress.ip_network(service_subnet, strict=False).hosts())[9]) if service_subnet else "10.96.0.10"
    return yaml.safe_dump({
        "apiVersion": "kubelet.config.k8s.io/v1beta1", "kind": "KubeletConfiguration",
        "authentication": {"x509": {"clientCAFile": "/etc/kubernetes/pki/ca.crt"}},
        "cgroupDriver": cgroup_driver, "clusterDNS": [dns], "clusterDomain": dns_domain,
        "staticPodPath": "/etc/kubernetes/manifests",
    }, sort_keys=False)


def static_pod(name, image, command):
    return yaml.safe_dump({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": "kube-system", "labels": {"component": name, "tier": "control-plane"}},
        "spec": {"hostNetwork": True, "priorityClassName": "system-node-critical",
                 "containers": [{"name": name, "image": image, "command": command}]},
    }, sort_keys=False)


def kubeadm_state(name):
    d = os.path.join(STATE, "kubeadm")
    os.makedirs(d, exist_ok=True)
    return os.path.join(d, name)


# ---------------------------------------------------------------- the kubelet stand-in: kube-vip's static pod
#
# The lab has no kubelet. What offlinekit puts in /etc/kubernetes/manifests besides kubeadm's own pods is
# kube-vip (cluster.loadBalancer: kube-vip), and this stand-in runs it the way the kubelet and kube-vip
# would: one pass of the kubelet's static-pod loop whenever a stand-in runs on the host (kubeadm starts
# the kubelet; kubectl finds it running). It validates the pod as the kubelet and kube-vip would (image in
# the runtime, the hostPath kubeconfig a file, leader election allowed for that kubeconfig's user), lets
# the control planes' kube-vips elect one leader (the lease: cluster.json's kubeVip.holder), and the leader
# holds the VIP on its interface with `ip addr add` in the lab host's own network namespace; a removed or
# failing pod lets go of it (`ip addr del`). Everything it does goes to offlinekit-standins.log as "kubelet …".

KUBEADM_PODS = {"kube-apiserver.yaml", "kube-controller-manager.yaml", "kube-scheduler.yaml", "etcd.yaml"}
SUPER_ADMIN_FROM = (1, 29)  # kubeadm 1.29 writes super-admin.conf; admin.conf gets its rights only at the end of init


def version_tuple(version):
    parts = re.findall(r"\d+", str(version or "0.0"))
    return (int(parts[0]), int(parts[1])) if len(parts) >= 2 else (0, 0)


def kubelet_record(text):
    with open(os.path.join(ROOT, "var/log/offlinekit-standins.log"), "a") as f:
        f.write(f"kubelet {text}\n")


def kube_vip_pod():
    """The static pod in /etc/kubernetes/manifests whose container runs kube-vip's image: (path, pod) or (None, None)."""
    folder = os.path.join(ROOT, "etc/kubernetes/manifests")
    for name in sorted(os.listdir(folder)) if os.path.isdir(folder) else []:
        if name in KUBEADM_PODS or not name.endswith((".yaml", ".yml", ".json")):
            continue
        path = os.path.join(folder, name)
        try:
            with open(path) as f:
                pod = yaml.safe_load(f)
        except (OSError, yaml.YAMLError) as e:
            kubelet_record(f"{MARK}: static pod {name} does not parse: {e}")
            continue
        containers = ((pod or {}).get("spec") or {}).get("containers") or []
        if any(str(c.get("image", "")).rpartition(":")[0].endswith("/kube-vip") for c in containers):
            return path, pod
    return None, None


def kube_vip_state():
    return os.path.join(STATE, "kubelet", "kube-vip.json")


def in_lab_namespace():
    """The lab hosts are network namespaces with lo and their veth end eth0 alone; the machine's own namespace (loopback
    mode, or anything else) has other links, among them the lab's oklab-* veth ends, and must never get a VIP."""
    code, stdout, _ = run(["ip", "-o", "link", "show"])
    links = {m.group(1) for m in re.finditer(r"^\d+: ([^:@]+)[@:]", stdout, re.M)}
    return code == 0 and links <= {"lo", "eth0"}


def pod_env(pod):
    """The first container's environment, name to value (kube-vip takes its settings from there)."""
    container = (((pod or {}).get("spec") or {}).get("containers") or [{}])[0]
    return {str(e.get("name")): str(e.get("value", "")) for e in container.get("env") or []}


def kube_vip_problem(pod, version, initializing):
    """Why the kubelet could not run this kube-vip pod, or why kube-vip could not lead; None when it runs. Also its VIP and interface."""
    spec = pod.get("spec") or {}
    container = (spec.get("containers") or [{}])[0]
    env = pod_env(pod)
    vip, interface = env.get("address") or env.get("vip_address", ""), env.get("vip_interface", "")
    if pod.get("apiVersion") != "v1" or pod.get("kind") != "Pod" or not (pod.get("metadata") or {}).get("name"):
        return "not a v1 Pod with a name", vip, interface
    if spec.get("hostNetwork") is not True:
        return "kube-vip needs hostNetwork: true to hold the VIP on the host's interface", vip, interface
    try:
        ipaddress.IPv4Address(vip)
    except ValueError:
        return f'env address "{vip}" is not an IPv4 address (the VIP)', vip, interface
    for key in ("cp_enable", "vip_arp", "vip_leaderelection"):
        if env.get(key) != "true":
            return f"env {key} is not \"true\" (control-plane VIP by ARP with leader election)", vip, interface
    if env.get("port") != "6443":
        return f'env port "{env.get("port")}" is not kube-apiserver\'s 6443', vip, interface
    if run(["ip", "link", "show", interface])[0] != 0:
        return f'vip_interface "{interface}": no such interface on this host', vip, interface
    image = str(container.get("image", ""))
    if not image_present(image):
        return f'ErrImagePull: failed to pull image "{image}": offline, and the image is not in this host\'s runtime', vip, interface
    mounts = {m.get("name"): m.get("mountPath") for m in container.get("volumeMounts") or []}
    volumes = {v.get("name"): (v.get("hostPath") or {}).get("path") for v in spec.get("volumes") or []}
    kubeconfig = next((volumes.get(n) for n, at in mounts.items() if at == "/etc/kubernetes/admin.conf"), None)
    if not kubeconfig:
        return "no hostPath volume mounted at /etc/kubernetes/admin.conf, where kube-vip reads its kubeconfig", vip, interface
    if not os.path.isfile(under_root(kubeconfig)):
        return f'MountVolume.SetUp failed for volume "kubeconfig": hostPath type check failed: {kubeconfig} is not a file', vip, interface
    if initializing and kubeconfig != "/etc/kubernetes/super-admin.conf" and version_tuple(version) >= SUPER_ADMIN_FROM:
        return ('error retrieving resource lock kube-system/plndr-cp-lock: leases.coordination.k8s.io "plndr-cp-lock" is forbidden: '
                'User "kubernetes-admin" cannot get resource "leases" in API group "coordination.k8s.io" in the namespace "kube-system" '
                "(admin.conf has no rights until kubeadm init is over from 1.29; kube-vip#684)"), vip, interface
    return None, vip, interface


def kubelet_sync(cluster, version=None, initializing=False):
    """One pass of the kubelet stand-in over kube-vip's static pod: (whether this host holds the VIP afterwards, why not)."""
    path, pod = kube_vip_pod()
    state_path = kube_vip_state()
    held = None
    if os.path.exists(state_path):
        with open(state_path) as f:
            held = json.load(f)
    me = hostname()
    data = cluster.data if cluster is not None else None
    lease = (data or {}).get("kubeVip") or {}

    def release(why):
        if held:
            if in_lab_namespace():
                run(["ip", "addr", "del", f"{held['vip']}/32", "dev", held["interface"]])
            kubelet_record(f"{MARK}: kube-vip {why}: ip addr del {held['vip']}/32 dev {held['interface']}")
            os.remove(state_path)
        if data is not None and lease.get("holder") == me:
            lease["holder"] = None
            lease.pop("root", None)
            cluster.save()

    if pod is None:
        release("static pod removed")
        return False, "no kube-vip static pod"
    problem, vip, interface = kube_vip_problem(pod, version or (data or {}).get("kubernetesVersion"), initializing)
    if problem:
        kubelet_record(f"{MARK}: kube-vip ({os.path.basename(path)}) not running: {problem}")
        release("not running")
        return False, problem
    if data is None:
        kubelet_record(f"{MARK}: kube-vip running, no API server to elect a leader with yet")
        return False, "no API server to elect a leader with"
    lease = data.setdefault("kubeVip", {})
    lease["vip"] = vip
    holder = lease.get("holder")
    alive = holder and holder != me and os.path.exists(os.path.join(lease.get("root", "/nonexistent"), "var/lib/offlinekit-standins/kubelet/kube-vip.json"))
    kubeconfig = next(v.get("hostPath", {}).get("path") for v in pod["spec"]["volumes"])
    if alive:
        if held:
            release(f"follower of {holder}")
        return False, f"follower: {holder} leads"
    if not held or held.get("kubeconfig") != kubeconfig:
        have = run(["ip", "-o", "-4", "addr", "show", "dev", interface])[1]
        if not in_lab_namespace():
            kubelet_record(f"{MARK}: not in a lab host's own network namespace: the VIP {vip} is not added here")
            return False, "not in a lab host's network namespace"
        if f" {vip}/" not in have:
            code, _, stderr = run(["ip", "addr", "add", f"{vip}/32", "dev", interface])
            if code != 0:
                kubelet_record(f"{MARK}: kube-vip could not add the VIP: {stderr.strip()}")
                return False, stderr.strip()
        if held:
            kubelet_record(f"{MARK}: kube-vip restarted with {kubeconfig}, still leader of {vip}")
        else:
            kubelet_record(f"{MARK}: kube-vip leader (kubeconfig {kubeconfig}): ip addr add {vip}/32 dev {interface}")
        os.makedirs(os.path.dirname(state_path), exist_ok=True)
        with open(state_path, "w") as f:
            json.dump({"vip": vip, "interface": interface, "kubeconfig": kubeconfig}, f)
    if holder != me or lease.get("root") != ROOT:
        lease["holder"], lease["root"] = me, ROOT
        if cluster.dir and not initializing:
            cluster.save()
    return True, None


def kubelet_pass():
    """What a running kubelet would have done by now: a pass over kube-vip's pod before another stand-in acts on this host."""
    if kube_vip_pod()[0] is None and not os.path.exists(kube_vip_state()):
        return
    with Cluster(required=False) as cluster:
        kubelet_sync(cluster)


def vip_unheld(data, endpoint):
    """The endpoint is kube-vip's VIP and no control plane holds it: nothing answers there."""
    lease = (data or {}).get("kubeVip") or {}
    host = endpoint.rpartition(":")[0].strip("[]") or endpoint
    return lease.get("vip") == host and not (lease.get("holder") and os.path.exists(os.path.join(lease.get("root", "/nonexistent"), "var/lib/offlinekit-standins/kubelet/kube-vip.json")))


# ---------------------------------------------------------------- kubeadm: commands


def parse_flags(args, flags, bools=(), positional_max=0, command=""):
    """cobra-like: --flag value, --flag=value, booleans; an unknown flag is kubeadm's error."""
    values, positional, i = {}, [], 0
    while i < len(args):
        a = args[i]
        if a.startswith("-") and a != "-":
            key, eq, value = a.partition("=")
            if key in bools:
                values[key] = True
            elif key in flags:
                if not eq:
                    i += 1
                    if i >= len(args):
                        raise Fail(f"flag needs an argument: {key}")
                    value = args[i]
                values.setdefault(key, []).append(value)
            else:
                raise Fail(f"unknown flag: {key}\nTo see the stack trace of this error execute with --v=5 or higher")
        else:
            positional.append(a)
        i += 1
    if len(positional) > positional_max:
        raise Fail(f'unknown command "{positional[positional_max]}" for "kubeadm {command}"')
    return values, positional


def one(values, key, default=None):
    v = values.get(key)
    return v[-1] if v else default


def ignore_list(values):
    out_list = []
    for v in values.get("--ignore-preflight-errors", []):
        out_list.extend(x for x in v.split(",") if x)
    return out_list


def kubeadm_init(args, version):
    values, _ = parse_flags(args, ["--config", "--ignore-preflight-errors", "--v", "-v"], ["--skip-token-print", "--upload-certs"], 0, "init")
    config = one(values, "--config")
    if not config:
        raise Fail(f"{MARK} kubeadm init without --config is unsupported by the lab stand-in", 2)
    docs, text = load_kubeadm_config(input_path(config), version)
    settings = validate_init(docs, version)
    with Cluster() as cluster:
        if cluster.data is not None:
            raise Fail(f"{MARK} the lab cluster is already initialized (control plane at {cluster.data['endpoint']}); run kubeadm reset on it first")
        out(f"[init] Using Kubernetes version: {settings['version']}")
        out("[preflight] Running pre-flight checks")
        pf = Preflight(ignore_list(values) + settings["ignore"])
        host_preflight(pf, settings["runtime"])
        pf.check(not os.path.exists(os.path.join(ROOT, "etc/kubernetes/manifests/kube-apiserver.yaml")), "FileAvailable--etc-kubernetes-manifests-kube-apiserver.yaml", "/etc/kubernetes/manifests/kube-apiserver.yaml already exists")
        etcd_dir = os.path.join(ROOT, "var/lib/etcd")
        pf.check(not (os.path.isdir(etcd_dir) and os.listdir(etcd_dir)), "DirAvailable--var-lib-etcd", "/var/lib/etcd is not empty")
        pf.finish()
        out("[preflight] Pulling images required for setting up a Kubernetes cluster")
        out("[preflight] This might take a minute or two, depending on the speed of your internet connection")
        out("[preflight] You can also perform this action in beforehand using 'kubeadm config images pull'")
        runtime_preflight(pf, settings["runtime"], list(settings["images"].values()), settings["cgroupDriver"], settings["pause"])

        out('[certs] Using certificateDir folder "/etc/kubernetes/pki"')
        out('[certs] Generating "ca" certificate and key')
        ca = make_ca()
        server = f"https://{settings['endpoint']}"
        names = {"admin.conf": "kubernetes-admin", "kubelet.conf": f"system:node:{settings['name']}",
                 "controller-manager.conf": "system:kube-controller-manager", "scheduler.conf": "system:kube-scheduler"}
        if version_tuple(settings["version"]) >= SUPER_ADMIN_FROM:
            # kubeadm 1.29+: admin.conf's user is in kubeadm:cluster-admins (bound at the end of init); super-admin.conf is system:masters.
            names = {"admin.conf": "kubernetes-admin", "super-admin.conf": "kubernetes-super-admin", **names}
        out('[kubeconfig] Using kubeconfig folder "/etc/kubernetes"')
        for file, user in names.items():
            out(f'[kubeconfig] Writing "{file}" kubeconfig file')
            write(f"etc/kubernetes/{file}", kubeconfig(server, settings["clusterName"], user, ca), 0o600)
        out('[kubelet-start] Writing kubelet environment file with flags to file "/var/lib/kubelet/kubeadm-flags.env"')
        write("var/lib/kubelet/kubeadm-flags.env", kubelet_flags(settings["version"], settings["cri"], settings["pause"]))
        out('[kubelet-start] Writing kubelet configuration to file "/var/lib/kubelet/config.yaml"')
        write("var/lib/kubelet/config.yaml", kubelet_config(settings["cgroupDriver"], settings["dnsDomain"], settings["serviceSubnet"]))
        out("[kubelet-start] Starting the kubelet")
        set_kubelet_active(True)
        out('[control-plane] Using manifest folder "/etc/kubernetes/manifests"')
        images = settings["images"]
        commands = {
            "kube-apiserver": ["kube-apiserver", f"--advertise-address={settings['address']}", f"--secure-port={settings['port']}", f"--service-cluster-ip-range={settings['serviceSubnet']}"],
            "kube-controller-manager": ["kube-controller-manager", "--allocate-node-cidrs=true", f"--cluster-cidr={settings['podSubnet'] or ''}", f"--service-cluster-ip-range={settings['serviceSubnet']}"],
            "kube-scheduler": ["kube-scheduler", "--kubeconfig=/etc/kubernetes/scheduler.conf"],
            "etcd": ["etcd", "--data-dir=/var/lib/etcd", f"--advertise-client-urls=https://{settings['address']}:2379"],
        }
        for component, command in commands.items():
            out(f'[{"etcd" if component == "etcd" else "control-plane"}] Creating static Pod manifest for "{component}"')
            write(f"etc/kubernetes/manifests/{component}.yaml", static_pod(component, images[component], command), 0o600)
        os.makedirs(etcd_dir, exist_ok=True)
        write("var/lib/etcd/member/offlinekit-standin", "etcd data (offlinekit lab stand-in)\n")
        with open(kubeadm_state("init-config.yaml"), "w") as f:
            f.write(text)

        stamp = iso(now())
        cluster.data = {
            "endpoint": settings["endpoint"], "caCertHash": ca_cert_hash(ca), "caCert": ca,
            "stableEndpoint": settings["stableEndpoint"],
            "etcdMembers": [{"name": settings["name"], "peerURL": f"https://{settings['address']}:2380", "started": True}],
            "tokens": [{"token": t["token"], "expires": t["expires"]} for t in settings["tokens"]],
            "podSubnet": settings["podSubnet"], "serviceSubnet": settings["serviceSubnet"], "dnsDomain": settings["dnsDomain"],
            "imageRepository": settings["imageRepository"], "kubernetesVersion": settings["version"],
            "cgroupDriver": settings["cgroupDriver"], "clusterName": settings["clusterName"], "created": stamp, "runtime": settings["runtime"],
            "nodes": {settings["name"]: {"role": "control-plane", "address": settings["address"], "version": settings["version"],
                                         "kubeletActive": True, "root": ROOT, "created": stamp}},
            "objects": [],
        }
        # The kubelet runs the static pods; with kube-vip's among them, kubeadm reaches the new API server through its VIP.
        kube_vip = kube_vip_pod()[1]
        if kube_vip is not None:
            out('[wait-control-plane] Waiting for the kubelet to boot up the control plane as static Pods from directory "/etc/kubernetes/manifests"')
            holds, why = kubelet_sync(cluster, settings["version"], initializing=True)
            if not holds and pod_env(kube_vip).get("address") == settings["endpoint"].rpartition(":")[0].strip("[]"):
                raise Fail("[kubelet-check] Initial timeout of 40s passed.\n"
                           "error execution phase wait-control-plane: couldn't initialize a Kubernetes cluster: timed out waiting for the condition"
                           f" ({MARK}: nothing answers on the control-plane endpoint {settings['endpoint']}: kube-vip: {why})")
        key = None
        if values.get("--upload-certs"):
            key = store_certificate_key(cluster, None)
        cluster.save()
        if key:
            out('[upload-certs] Storing the certificates in Secret "kubeadm-certs" in the "kube-system" Namespace')
            out("[upload-certs] Using certificate key:")
            out(key)
        token = settings["tokens"][0]["token"]
        shown = "<value withheld>" if values.get("--skip-token-print") else token
        out(f"[bootstrap-token] Using token: {shown}")
        out("[bootstrap-token] Configuring bootstrap tokens, cluster-info ConfigMap, RBAC Roles")
        out("[addons] Applied essential addon: CoreDNS")
        out("[addons] Applied essential addon: kube-proxy")
        out()
        out("Your Kubernetes control-plane has initialized successfully!")
        out()
        out("To start using your cluster, you need to run the following as a regular user:")
        out()
        out("  mkdir -p $HOME/.kube")
        out("  sudo cp -i /etc/kubernetes/admin.conf $HOME/.kube/config")
        out("  sudo chown $(id -u):$(id -g) $HOME/.kube/config")
        out()
        out("Alternatively, if you are the root user, you can run:")
        out()
        out("  export KUBECONFIG=/etc/kubernetes/admin.conf")
        out()
        out("You should now deploy a pod network to the cluster.")
        out('Run "kubectl apply -f [podnetwork].yaml" with one of the options listed at:')
        out("  https://kubernetes.io/docs/concepts/cluster-administration/addons/")
        out()
        if key and settings["stableEndpoint"]:
            out("You can now join any number of the control-plane node running the following command on each as root:")
            out()
            out(f"  kubeadm join {settings['endpoint']} --token {shown} \\")
            out(f"\t--discovery-token-ca-cert-hash {cluster.data['caCertHash']} \\")
            out(f"\t--control-plane --certificate-key {key}")
            out()
        out("Then you can join any number of worker nodes by running the following on each as root:")
        out()
        out(f"kubeadm join {settings['endpoint']} --token {shown} \\")
        out(f"\t--discovery-token-ca-cert-hash {cluster.data['caCertHash']} ")


# ---------------------------------------------------------------- kubeadm: control planes and etcd

CERT_KEY_RE = re.compile(r"^[0-9a-f]{64}$")
CERT_KEY_TTL = datetime.timedelta(hours=2)  # kubeadm deletes the kubeadm-certs Secret after two hours


def admin_kubeconfig(values):
    """kubeadm's --kubeconfig (default /etc/kubernetes/admin.conf) under the host's root; kubeadm's error when it is missing."""
    path = under_root(one(values, "--kubeconfig", "/etc/kubernetes/admin.conf"))
    if not os.path.exists(path):
        raise Fail("failed to load admin kubeconfig: open /etc/kubernetes/admin.conf: no such file or directory\nTo see the stack trace of this error execute with --v=5 or higher")
    return path


@contextlib.contextmanager
def admin_cluster(kubeconfig_path, api_path, phase=""):
    """The lab cluster as the admin kubeconfig reaches it: refused when none is up or the kubeconfig names another server."""
    with Cluster() as cluster:
        if cluster.data is None:
            raise Fail(f"{MARK} The connection to the server was refused: no cluster is initialized in the lab")
        server = read_kubeconfig_server(kubeconfig_path)
        if server != "https://" + cluster.data["endpoint"] or vip_unheld(cluster.data, cluster.data["endpoint"]):
            raise Fail(f'{phase}Get "{server}{api_path}?timeout=10s": dial tcp: connect: connection refused')
        yield cluster


def store_certificate_key(cluster, key):
    """The kubeadm-certs Secret: this control plane's certificates, which the real one encrypts with KEY (the stand-in
    keeps the key's hash beside them), deleted after 2 h."""
    key = key or secrets.token_hex(32)
    with open(os.path.join(ROOT, "etc/kubernetes/pki/ca.key")) as f:
        ca_key = f.read()
    cluster.data["kubeadmCerts"] = {"keySha256": hashlib.sha256(key.encode()).hexdigest(), "expires": iso(now() + CERT_KEY_TTL), "ca.key": ca_key}
    return key


def download_certs(cluster, key):
    """What kubeadm join --control-plane does first: the kubeadm-certs Secret, decrypted with the certificate key."""
    if not CERT_KEY_RE.match(key or ""):
        raise Fail("error execution phase control-plane-prepare/download-certs: error downloading certs: error decoding certificate key: encoding/hex: invalid byte")
    certs = cluster.data.get("kubeadmCerts")
    if certs and datetime.datetime.strptime(certs["expires"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.timezone.utc) <= now():
        certs = None
    if certs is None:
        raise Fail('error execution phase control-plane-prepare/download-certs: error downloading certs: error downloading the secret: Secret "kubeadm-certs" was not found in the "kube-system" Namespace. '
                   "This Secret might have expired. Please, run `kubeadm init phase upload-certs --upload-certs` on a control plane to generate a new one")
    if hashlib.sha256(key.encode()).hexdigest() != certs["keySha256"]:
        raise Fail("error execution phase control-plane-prepare/download-certs: error downloading certs: error decoding secret data with provided key: cipher: message authentication failed")
    return certs


def kubeadm_init_phase(args, version):
    if args[:1] != ["upload-certs"]:
        raise Fail(f"{MARK} kubeadm init phase {' '.join(args[:1])} is unsupported by the lab stand-in", 2)
    values, _ = parse_flags(args[1:], ["--certificate-key", "--config", "--kubeconfig", "--v", "-v"], ["--upload-certs", "--skip-certificate-key-print"], 0, "init phase upload-certs")
    if not values.get("--upload-certs"):
        out("[upload-certs] Skipping phase. Please see --upload-certs")
        return
    key = one(values, "--certificate-key")
    if key is not None and not CERT_KEY_RE.match(key):
        raise Fail("error execution phase upload-certs: error uploading certs: error decoding certificate key: encoding/hex: invalid byte")
    kubeconfig_path = admin_kubeconfig(values)
    if not os.path.exists(os.path.join(ROOT, "etc/kubernetes/pki/ca.key")):
        raise Fail("error execution phase upload-certs: error uploading certs: failed to load the CA: open /etc/kubernetes/pki/ca.key: no such file or directory (not a control plane)")
    with admin_cluster(kubeconfig_path, "/api/v1/namespaces/kube-system/secrets/kubeadm-certs", "error execution phase upload-certs: ") as cluster:
        key = store_certificate_key(cluster, key)
        cluster.save()
    out('[upload-certs] Storing the certificates in Secret "kubeadm-certs" in the "kube-system" Namespace')
    out("[upload-certs] Using certificate key:")
    out("<value withheld>" if values.get("--skip-certificate-key-print") else key)


def etcd_add_member(cluster, name, peer_url):
    """etcd's own rule for adding a voting member (isReadyToAddVotingMember): with the new, not yet started member
    counted, the started members must still be a quorum; a one-member cluster may always grow to two."""
    members = cluster.data.setdefault("etcdMembers", [])
    started = sum(1 for m in members if m["started"])
    count = len(members) + 1
    if not (started == 1 and count == 2) and started < count // 2 + 1:
        pending = ", ".join(m["name"] for m in members if not m["started"])
        raise Fail(f"error execution phase control-plane-join/etcd: error creating local etcd static pod manifest file: etcdserver: re-configuration failed due to not enough started members"
                   f" ({started} of {len(members)} started{'; not started: ' + pending if pending else ''}; one control plane at a time {MARK})")
    members.append({"name": name, "peerURL": peer_url, "started": False})


def kubeadm_token(args, version):
    if not args or args[0] != "create":
        raise Fail(f"{MARK} kubeadm token {' '.join(args[:1])} is unsupported by the lab stand-in", 2)
    values, positional = parse_flags(args[1:], ["--ttl", "--kubeconfig", "--description", "--usages", "--groups"], ["--print-join-command"], 1, "token create")
    kubeconfig_path = admin_kubeconfig(values)
    ttl = one(values, "--ttl", "24h0m0s")
    seconds = parse_duration(ttl)
    if seconds is None:
        raise Fail(f'invalid argument "{ttl}" for "--ttl" flag: time: invalid duration "{ttl}"')
    token = positional[0] if positional else new_token()
    if not TOKEN_RE.match(token):
        raise Fail('the bootstrap token was not of the form "^([a-z0-9]{6})\\\\.([a-z0-9]{16})$"')
    with admin_cluster(kubeconfig_path, "/api/v1/namespaces/kube-system/configmaps/kubeadm-config") as cluster:
        expires = iso(now() + datetime.timedelta(seconds=seconds)) if seconds > 0 else None
        cluster.data["tokens"].append({"token": token, "expires": expires})
        cluster.save()
        if values.get("--print-join-command"):
            out(f"kubeadm join {cluster.data['endpoint']} --token {token} --discovery-token-ca-cert-hash {cluster.data['caCertHash']} ")
        else:
            out(token)


def kubeadm_join(args, version):
    values, positional = parse_flags(
        args, ["--config", "--token", "--discovery-token-ca-cert-hash", "--node-name", "--cri-socket", "--ignore-preflight-errors", "--v", "-v", "--discovery-token",
               "--certificate-key", "--apiserver-advertise-address", "--apiserver-bind-port"],
        ["--discovery-token-unsafe-skip-ca-verification", "--control-plane"], 1, "join")
    config = one(values, "--config")
    ignore = ignore_list(values)
    if config:
        # kubeadm allows only a few flags beside --config; these are not among them.
        mixed = [f for f in ("--token", "--discovery-token-ca-cert-hash", "--node-name", "--cri-socket", "--discovery-token", "--control-plane", "--certificate-key",
                             "--apiserver-advertise-address", "--apiserver-bind-port") if values.get(f)] + positional
        if mixed:
            raise Fail(f"can not mix '--config' with arguments {mixed}")
        docs, _ = load_kubeadm_config(input_path(config), version, wanted=("JoinConfiguration",))
        join = docs["JoinConfiguration"]
        bootstrap = (join.get("discovery") or {}).get("bootstrapToken") or {}
        registration = join.get("nodeRegistration") or {}
        endpoint = bootstrap.get("apiServerEndpoint") or ""
        token = bootstrap.get("token")
        hashes = [str(h) for h in (bootstrap.get("caCertHashes") or [])]
        if bootstrap.get("unsafeSkipCAVerification"):
            values["--discovery-token-unsafe-skip-ca-verification"] = True
        values["--node-name"] = [registration["name"]] if registration.get("name") else []
        values["--cri-socket"] = [registration["criSocket"]] if registration.get("criSocket") else []
        ignore += [str(x) for x in (registration.get("ignorePreflightErrors") or [])]
        control = join.get("controlPlane")
        if control is not None:
            local = (control or {}).get("localAPIEndpoint") or {}
            values["--control-plane"] = True
            values["--certificate-key"] = [str(control.get("certificateKey") or "")]
            values["--apiserver-advertise-address"] = [str(local["advertiseAddress"])] if local.get("advertiseAddress") else []
            values["--apiserver-bind-port"] = [str(local.get("bindPort", 6443))]
        with open(kubeadm_state("join-config.yaml"), "w") as f:
            f.write(open(input_path(config)).read())
    else:
        if not positional:
            raise Fail("discovery: Invalid value: \"\": bootstrapToken or file must be set")
        endpoint = positional[0]
        token = one(values, "--discovery-token") or one(values, "--token")
        hashes = values.get("--discovery-token-ca-cert-hash", [])
    errors = []
    if not token:
        errors.append('discovery: Invalid value: "": bootstrapToken or file must be set')
    elif not TOKEN_RE.match(token):
        errors.append('discovery.bootstrapToken.token: Invalid value: "": the bootstrap token was not of the form "^([a-z0-9]{6})\\\\.([a-z0-9]{16})$"')
    if not hashes and not values.get("--discovery-token-unsafe-skip-ca-verification"):
        errors.append("discovery.bootstrapToken: Invalid value: \"\": using token-based discovery without caCertHashes can be unsafe. Set unsafeSkipCAVerification as true in your kubeadm config file or pass --discovery-token-unsafe-skip-ca-verification flag to continue")
    for h in hashes:
        if not HASH_RE.match(h):
            errors.append(f'discovery.bootstrapToken.caCertHashes: Invalid value: "{h}": invalid hash, expected "format:hex-value"')
    host, _, port = endpoint.rpartition(":")
    if not host or not port.isdigit():
        errors.append(f'discovery.bootstrapToken.apiServerEndpoint: Invalid value: "{endpoint}": address {endpoint}: missing port in address')
    name = one(values, "--node-name") or hostname()
    if not name or len(name) > 253 or not DNS1123_SUBDOMAIN.match(name):
        errors.append(f'nodeRegistration.name: Invalid value: "{name}": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, \'-\' or \'.\'')
    cri = one(values, "--cri-socket", "/var/run/dockershim.sock")
    runtime = cri_runtime(cri)
    if runtime is None:
        errors.append(f'nodeRegistration.criSocket: Invalid value: "{cri}": not a known container runtime socket (dockershim or containerd)')
    control_plane = bool(values.get("--control-plane"))
    advertise = one(values, "--apiserver-advertise-address")
    bind_port = one(values, "--apiserver-bind-port", "6443")
    if control_plane:
        if not advertise:
            errors.append(f'controlPlane.localAPIEndpoint.advertiseAddress: Invalid value: "": unable to select an IP from default routes {MARK}')
        elif not is_local(advertise):
            errors.append(f'controlPlane.localAPIEndpoint.advertiseAddress: Invalid value: "{advertise}": is not an address of this host (`ip -o addr show`) {MARK}')
        if not bind_port.isdigit() or not 1 <= int(bind_port) <= 65535:
            errors.append(f'controlPlane.localAPIEndpoint.bindPort: Invalid value: "{bind_port}": must be a valid port number between 1 and 65535, inclusive')
    if errors:
        raise Fail("[" + ", ".join(errors) + "]")

    out("[preflight] Running pre-flight checks")
    pf = Preflight(ignore)
    host_preflight(pf, runtime)
    pf.check(not os.path.exists(os.path.join(ROOT, "etc/kubernetes/kubelet.conf")), "FileAvailable--etc-kubernetes-kubelet.conf", "/etc/kubernetes/kubelet.conf already exists")
    pf.check(not os.path.exists(os.path.join(ROOT, "etc/kubernetes/pki/ca.crt")), "FileAvailable--etc-kubernetes-pki-ca.crt", "/etc/kubernetes/pki/ca.crt already exists")
    if control_plane:
        pf.check(not os.path.exists(os.path.join(ROOT, "etc/kubernetes/manifests/kube-apiserver.yaml")), "FileAvailable--etc-kubernetes-manifests-kube-apiserver.yaml", "/etc/kubernetes/manifests/kube-apiserver.yaml already exists")
        etcd_dir = os.path.join(ROOT, "var/lib/etcd")
        pf.check(not (os.path.isdir(etcd_dir) and os.listdir(etcd_dir)), "DirAvailable--var-lib-etcd", "/var/lib/etcd is not empty")
    pf.finish()

    api_url = f"https://{endpoint}/api/v1/namespaces/kube-public/configmaps/cluster-info?timeout=10s"
    if not routable(host):
        raise Fail(f'error execution phase preflight: couldn\'t validate the identity of the API Server: Get "{api_url}": dial tcp {endpoint}: connect: network is unreachable (no route from this host: `ip route get {host}` fails {MARK})')
    with Cluster() as cluster:
        if cluster.data is None or cluster.data["endpoint"] != endpoint:
            raise Fail(f'error execution phase preflight: couldn\'t validate the identity of the API Server: Get "{api_url}": dial tcp {endpoint}: connect: connection refused')
        if vip_unheld(cluster.data, endpoint):
            raise Fail(f'error execution phase preflight: couldn\'t validate the identity of the API Server: Get "{api_url}": dial tcp {endpoint}: connect: no route to host ({MARK}: no kube-vip holds the VIP)')
        live = [t["token"] for t in cluster.live_tokens()]
        if token not in live and token.split(".")[0] in [t.split(".")[0] for t in live]:
            raise Fail("error execution phase preflight: couldn't validate the identity of the API Server: failed to verify JWS signature of received cluster info object, can't trust this API Server")
        if token not in live:
            raise Fail(f'error execution phase preflight: couldn\'t validate the identity of the API Server: could not find a JWS signature in the cluster-info ConfigMap for token ID "{token.split(".")[0]}"')
        if hashes and cluster.data["caCertHash"] not in hashes:
            raise Fail(f'error execution phase preflight: couldn\'t validate the identity of the API Server: cluster CA found in cluster-info ConfigMap is invalid: none of the public keys "{cluster.data["caCertHash"]}" are pinned')
        out("[preflight] Reading configuration from the cluster...")
        out("[preflight] FYI: You can look at this config file with 'kubectl -n kube-system get cm kubeadm-config -o yaml'")
        repo = cluster.data["imageRepository"]
        v = cluster.data["kubernetesVersion"]
        if control_plane and not cluster.data.get("stableEndpoint"):
            raise Fail("error execution phase preflight: \nOne or more conditions for hosting a new control plane instance is not satisfied.\n\n"
                       "unable to add a new control plane instance to a cluster that doesn't have a stable controlPlaneEndpoint address\n\n"
                       "Please ensure that:\n* The cluster has a stable controlPlaneEndpoint address.")
        listed = images_for(repo, v)
        wanted = list(listed.values()) if control_plane else [listed["kube-proxy"], listed["pause"]]
        runtime_preflight(pf, runtime, wanted, cluster.data["cgroupDriver"], listed["pause"])
        if name in cluster.data["nodes"]:
            raise Fail(f'error execution phase kubelet-start: a Node with name "{name}" and status "{node_status(cluster.data, name)}" already exists in the cluster. You must delete the existing Node or change the name of this new joining Node')
        if control_plane:
            certs = download_certs(cluster, one(values, "--certificate-key"))
            out("[download-certs] Downloading the certificates in Secret \"kubeadm-certs\" in the \"kube-system\" Namespace")
            etcd_add_member(cluster, name, f"https://{advertise}:2380")
            cluster.save()
        ca = cluster.data["caCert"]
        write("etc/kubernetes/pki/ca.crt", ca)
        write("etc/kubernetes/kubelet.conf", kubeconfig("https://" + endpoint, cluster.data["clusterName"], f"system:node:{name}", ca), 0o600)
        out('[kubelet-start] Writing kubelet configuration to file "/var/lib/kubelet/config.yaml"')
        write("var/lib/kubelet/config.yaml", kubelet_config(cluster.data["cgroupDriver"], cluster.data["dnsDomain"], cluster.data["serviceSubnet"]))
        out('[kubelet-start] Writing kubelet environment file with flags to file "/var/lib/kubelet/kubeadm-flags.env"')
        write("var/lib/kubelet/kubeadm-flags.env", kubelet_flags(v, cri, listed["pause"]))
        out("[kubelet-start] Starting the kubelet")
        set_kubelet_active(True)
        out("[kubelet-start] Waiting for the kubelet to perform the TLS Bootstrap...")
        address = advertise if control_plane else next(iter(sorted(a for a in host_addresses() if routable_from(a, host))), "")
        cluster.data["nodes"][name] = {"role": "control-plane" if control_plane else "worker", "address": address, "version": v, "kubeletActive": True, "root": ROOT, "created": iso(now())}
        cluster.save()
        with open(kubeadm_state("join.json"), "w") as f:
            json.dump({"endpoint": endpoint, "nodeName": name, "criSocket": cri, "caCertHashes": hashes, "controlPlane": control_plane}, f, indent=2)
            f.write("\n")
        if control_plane:
            write("etc/kubernetes/pki/ca.key", certs["ca.key"], 0o600)
            write("etc/kubernetes/admin.conf", kubeconfig("https://" + endpoint, cluster.data["clusterName"], "kubernetes-admin", ca), 0o600)
            images = images_for(repo, v)
            for component in ("kube-apiserver", "kube-controller-manager", "kube-scheduler", "etcd"):
                out(f'[{"etcd" if component == "etcd" else "control-plane"}] Creating static Pod manifest for "{component}"')
                write(f"etc/kubernetes/manifests/{component}.yaml", static_pod(component, images[component], [component, f"--advertise-address={advertise}"]), 0o600)
            write("var/lib/etcd/member/offlinekit-standin", "etcd data (offlinekit lab stand-in)\n")
            kubelet_sync(cluster, v)
    if control_plane:
        # Outside the cluster lock, as the real member syncs: a second join meanwhile sees this member not started.
        out("[etcd] Announced new etcd member joining to the existing etcd cluster")
        out("[etcd] Waiting for the new etcd member to join the cluster. This can take up to 40s")
        time.sleep(float(os.environ.get("OFFLINEKIT_LAB_ETCD_SYNC_SECONDS", "1")))
        with Cluster() as cluster:
            for member in (cluster.data or {}).get("etcdMembers", []):
                if member["name"] == name:
                    member["started"] = True
            if cluster.data is not None:
                cluster.save()
        out()
        out("This node has joined the cluster and a new control plane instance was created:")
        out()
        out("* Certificate signing request was sent to apiserver and approval was received.")
        out("* The Kubelet was informed of the new secure connection details.")
        out("* Control plane label and taint were applied to the new node.")
        out("* The Kubernetes control plane instances scaled up.")
        out("* A new etcd member was added to the local/stacked etcd cluster.")
        out()
        return
    out()
    out("This node has joined the cluster:")
    out("* Certificate signing request was sent to apiserver and a response was received.")
    out("* The Kubelet was informed of the new secure connection details.")
    out()
    out("Run 'kubectl get nodes' on the control-plane to see this node join the cluster.")
    out()


def routable_from(address, target):
    """The address of this host the route to the control plane leaves from (ip route get names src)."""
    code, stdout, _ = run(["ip", "route", "get", target])
    m = re.search(r"\bsrc (\S+)", stdout)
    return code == 0 and m is not None and m.group(1) == address


def kubeadm_reset(args, version):
    values, _ = parse_flags(args, ["--cri-socket", "--ignore-preflight-errors", "--kubeconfig", "--v", "-v"], ["-f", "--force"], 0, "reset")
    if not (values.get("-f") or values.get("--force")):
        sys.stdout.write("[reset] WARNING: Changes made to this host by 'kubeadm init' or 'kubeadm join' will be reverted.\n[reset] Are you sure you want to proceed? [y/N]: ")
        sys.stdout.flush()
        if not sys.stdin.isatty():
            out()
            raise Fail("error execution phase preflight: won't proceed; the user didn't answer (Y|n) in order to continue")
        if sys.stdin.readline().strip().lower() not in ("y", "yes"):
            raise Fail("error execution phase preflight: won't proceed; the user didn't answer (Y|n) in order to continue")
    cri = one(values, "--cri-socket")
    if cri is not None and cri_runtime(cri) is None:
        raise Fail(f'[nodeRegistration.criSocket: Invalid value: "{cri}": not a known container runtime socket]')
    was_control_plane = os.path.exists(os.path.join(ROOT, "etc/kubernetes/manifests/kube-apiserver.yaml"))
    out("[preflight] Running pre-flight checks")
    out("[reset] Stopping the kubelet service")
    set_kubelet_active(False)
    out('[reset] Unmounting mounted directories in "/var/lib/kubelet"')
    out("[reset] Deleting contents of config directories: [/etc/kubernetes/manifests /etc/kubernetes/pki]")
    for d in ("etc/kubernetes/manifests", "etc/kubernetes/pki", "var/lib/etcd", "var/lib/kubelet", "etc/cni/net.d", "var/lib/cni", "var/lib/dockershim"):
        shutil.rmtree(os.path.join(ROOT, d), ignore_errors=True)
    out("[reset] Deleting files: [/etc/kubernetes/admin.conf /etc/kubernetes/kubelet.conf /etc/kubernetes/bootstrap-kubelet.conf /etc/kubernetes/controller-manager.conf /etc/kubernetes/scheduler.conf]")
    for f in glob.glob(os.path.join(ROOT, "etc/kubernetes/*.conf")):
        os.remove(f)
    out("[reset] Deleting contents of stateful directories: [/var/lib/etcd /var/lib/kubelet /var/lib/dockershim /var/run/kubernetes /var/lib/cni]")
    with Cluster(required=False) as cluster:
        kubelet_sync(cluster)  # the manifests are gone: kube-vip stops and lets go of the VIP
        if cluster.data is not None:
            mine = [n for n, node in cluster.data["nodes"].items() if node.get("root") == ROOT]
            members = cluster.data.get("etcdMembers", [])
            others = [m for m in members if m["name"] not in mine]
            if (was_control_plane or any(cluster.data["nodes"][n]["role"] == "control-plane" for n in mine)) and not others:
                cluster.delete()
            elif mine:
                if len(others) < len(members):
                    out("[reset] Removing info for node from the ConfigMap \"kubeadm-config\" in the \"kube-system\" Namespace")
                    out("[reset] Removing member from etcd cluster")
                    cluster.data["etcdMembers"] = others
                for n in mine:
                    del cluster.data["nodes"][n]
                cluster.save()
    out()
    out("The reset process does not clean your kubeconfig files and you must remove them manually.")
    out("Please, check the contents of the $HOME/.kube/config file.")


def kubeadm(args):
    version = installed_version("kubeadm", "kubeadm")
    if not args:
        raise Fail(f"{MARK} kubeadm without a command is unsupported by the lab stand-in", 2)
    command, rest = args[0], args[1:]
    if command == "version":
        values, _ = parse_flags(rest, ["-o", "--output"], [], 0, "version")
        fmt = one(values, "-o") or one(values, "--output")
        if fmt == "short":
            out(f"v{version}")
        elif fmt is None:
            out(f'kubeadm version: &version.Info{{Major:"1", Minor:"{version.split(".")[1]}", GitVersion:"v{version}", GitTreeState:"clean", GoVersion:"go1.17.3", Compiler:"gc", Platform:"linux/amd64"}}')
        else:
            raise Fail(f"{MARK} kubeadm version -o {fmt} is unsupported by the lab stand-in", 2)
    elif command == "init" and rest[:1] == ["phase"]:
        kubelet_pass()
        kubeadm_init_phase(rest[1:], version)
    elif command == "init":
        kubeadm_init(rest, version)
    elif command == "token":
        kubelet_pass()
        kubeadm_token(rest, version)
    elif command == "join":
        kubeadm_join(rest, version)
    elif command == "reset":
        kubeadm_reset(rest, version)
    else:
        raise Fail(f"{MARK} kubeadm {command} is unsupported by the lab stand-in", 2)


# ---------------------------------------------------------------- kubectl

CLUSTER_SCOPED = {
    "Namespace", "Node", "PersistentVolume", "ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition",
    "StorageClass", "PriorityClass", "APIService", "MutatingWebhookConfiguration", "ValidatingWebhookConfiguration",
    "PodSecurityPolicy", "CSIDriver", "CSINode", "RuntimeClass", "IngressClass", "VolumeAttachment", "CertificateSigningRequest",
}
BUILTIN_GROUPS = {
    "v1": {"ConfigMap", "Secret", "Service", "ServiceAccount", "Namespace", "Pod", "PersistentVolume", "PersistentVolumeClaim", "Endpoints", "LimitRange", "ResourceQuota", "Node", "List"},
    "apps/v1": {"Deployment", "DaemonSet", "StatefulSet", "ReplicaSet", "ControllerRevision"},
    "batch/v1": {"Job", "CronJob"}, "batch/v1beta1": {"CronJob"},
    "policy/v1": {"PodDisruptionBudget"}, "policy/v1beta1": {"PodDisruptionBudget", "PodSecurityPolicy"},
    "rbac.authorization.k8s.io/v1": {"ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding"},
    "apiextensions.k8s.io/v1": {"CustomResourceDefinition"},
    "apiregistration.k8s.io/v1": {"APIService"},
    "networking.k8s.io/v1": {"NetworkPolicy", "Ingress", "IngressClass"},
    "storage.k8s.io/v1": {"StorageClass", "CSIDriver", "CSINode", "VolumeAttachment"},
    "scheduling.k8s.io/v1": {"PriorityClass"},
    "admissionregistration.k8s.io/v1": {"MutatingWebhookConfiguration", "ValidatingWebhookConfiguration"},
    "autoscaling/v1": {"HorizontalPodAutoscaler"}, "autoscaling/v2beta2": {"HorizontalPodAutoscaler"},
    "coordination.k8s.io/v1": {"Lease"}, "node.k8s.io/v1": {"RuntimeClass"},
}
WORKLOADS = {"Deployment", "DaemonSet", "StatefulSet"}
SYSTEM_NAMESPACES = {"default", "kube-system", "kube-public", "kube-node-lease"}


def plural(kind):
    k = kind.lower()
    if k.endswith("y") and not k.endswith("ey"):
        return k[:-1] + "ies"
    if k.endswith(("s", "x")):
        return k + "es"
    return k + "s"


def group_of(api):
    return api.split("/")[0] if "/" in api else ""


def ref_of(obj):
    group = group_of(obj["apiVersion"])
    return f"{obj['kind'].lower()}{'.' + group if group else ''}/{obj['name']}"


def read_kubeconfig_server(path):
    try:
        with open(path) as f:
            config = yaml.safe_load(f) or {}
        context_name = config.get("current-context")
        context = next(c["context"] for c in config.get("contexts", []) if c.get("name") == context_name)
        cluster = next(c["cluster"] for c in config.get("clusters", []) if c.get("name") == context.get("cluster"))
        return cluster.get("server")
    except (OSError, yaml.YAMLError, StopIteration, KeyError, TypeError, AttributeError):
        return None


REFUSED_LOCAL = "The connection to the server localhost:8080 was refused - did you specify the right host or port?"


def kubectl_connect(kubeconfig_flag):
    """The cluster as the kubeconfig names it; kubectl's own refusal otherwise."""
    path = kubeconfig_flag or os.environ.get("KUBECONFIG") or (os.environ.get("HOME", "/root").rstrip("/") + "/.kube/config")
    path = under_root(path)
    if not os.path.exists(path):
        if kubeconfig_flag:
            raise Fail(f'error: stat {kubeconfig_flag}: no such file or directory')
        raise Fail(REFUSED_LOCAL)
    server = read_kubeconfig_server(path)
    if not server:
        raise Fail(REFUSED_LOCAL)
    hostport = server.split("://", 1)[-1].rstrip("/")
    cluster = Cluster()
    cluster.__enter__()
    host = hostport.rpartition(":")[0] or hostport
    if cluster.data is None or cluster.data["endpoint"] != hostport or not routable(host.strip("[]")) or vip_unheld(cluster.data, hostport):
        cluster.__exit__()
        raise Fail(f"The connection to the server {hostport} was refused - did you specify the right host or port?")
    return cluster


def node_ready(data, name):
    node = data["nodes"][name]
    root = node.get("root")
    active = unit_state("kubelet", "active", root) if root and os.path.isdir(root) else node.get("kubeletActive", False)
    cni = any(o["kind"] == "DaemonSet" and o["name"] == "calico-node" and o.get("namespace") == "kube-system" for o in data["objects"])
    return active and cni


def node_status(data, name):
    return "Ready" if node_ready(data, name) else "NotReady"


def age(stamp):
    try:
        t = datetime.datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.timezone.utc)
    except (TypeError, ValueError):
        return "<unknown>"
    s = max(0, int((now() - t).total_seconds()))
    if s < 120:
        return f"{s}s"
    if s < 3600 * 3:
        return f"{s // 60}m"
    if s < 86400 * 2:
        return f"{s // 3600}h"
    return f"{s // 86400}d"


def table(headers, rows, no_headers):
    lines = rows if no_headers else [headers] + rows
    if not lines:
        return
    widths = [max(len(r[i]) for r in lines) for i in range(len(headers))]
    for r in lines:
        out("   ".join(c.ljust(widths[i]) for i, c in enumerate(r)).rstrip())


def read_manifests(sources):
    docs = []
    for source in sources:
        if source == "-":
            docs.append(("-", sys.stdin.read()))
        elif re.match(r"^https?://", source):
            host = re.sub(r"^https?://([^/:]+).*", r"\1", source)
            raise Fail(f'error: unable to read URL "{source}", server reported : Get "{source}": dial tcp: lookup {host}: no such host (offline {MARK})')
        elif os.path.isdir(source):
            for f in sorted(os.listdir(source)):
                if f.endswith((".yaml", ".yml", ".json")):
                    with open(os.path.join(source, f)) as fh:
                        docs.append((os.path.join(source, f), fh.read()))
        else:
            try:
                with open(input_path(source)) as fh:
                    docs.append((source, fh.read()))
            except OSError:
                raise Fail(f'error: the path "{source}" does not exist')
    objects = []
    for source, text in docs:
        try:
            loaded = [d for d in yaml.safe_load_all(text) if d is not None]
        except yaml.YAMLError as e:
            raise Fail(f'error: error parsing {source}: error converting YAML to JSON: {e}')
        for doc in loaded:
            items = doc.get("items", []) if isinstance(doc, dict) and str(doc.get("kind", "")).endswith("List") else [doc]
            for item in items:
                if not isinstance(item, dict) or not item.get("apiVersion") or not item.get("kind"):
                    raise Fail(f'error: error validating "{source}": error validating data: [apiVersion not set, kind not set]; if you choose to ignore these errors, turn validation off with --validate=false')
                name = (item.get("metadata") or {}).get("name")
                if not name:
                    raise Fail(f'error: error when retrieving current configuration of:\nResource: "{plural(item["kind"])}", GroupVersionKind: "{item["apiVersion"]}, Kind={item["kind"]}"\nfrom server for: "{source}": resource name may not be empty')
                objects.append((source, item))
    if not objects:
        raise Fail("error: no objects passed to apply")
    return objects


def containers_of(item):
    spec = ((item.get("spec") or {}).get("template") or {}).get("spec") or {}
    found = []
    for c in (spec.get("initContainers") or []) + (spec.get("containers") or []):
        found.append({"name": c.get("name"), "image": c.get("image"), "args": [str(a) for a in (c.get("args") or [])],
                      "command": [str(a) for a in (c.get("command") or [])], "env": {e.get("name"): e.get("value") for e in (c.get("env") or []) if isinstance(e, dict) and "value" in e},
                      "init": c in (spec.get("initContainers") or [])})
    return found


def kubectl_apply(data, objects, create):
    failures, warnings, checked = [], [], set()
    known_kinds = {(o.get("group"), o.get("crdKind")) for o in data["objects"] if o["kind"] == "CustomResourceDefinition"}
    for source, item in objects:
        api, kind = item["apiVersion"], item["kind"]
        meta = item.get("metadata") or {}
        name = meta["name"]
        crd_kind = None
        if kind == "CustomResourceDefinition":
            spec = item.get("spec") or {}
            crd_kind = (spec.get("group"), (spec.get("names") or {}).get("kind"))
            known_kinds.add(crd_kind)
        if kind not in BUILTIN_GROUPS.get(api, set()) and (group_of(api), kind) not in known_kinds:
            failures.append(f'error: resource mapping not found for name: "{name}" namespace: "{meta.get("namespace", "")}" from "{source}": no matches for kind "{kind}" in version "{api}"\nensure CRDs are installed first')
            continue
        namespace = None if kind in CLUSTER_SCOPED else (meta.get("namespace") or "default")
        namespaces = SYSTEM_NAMESPACES | {o["name"] for o in data["objects"] if o["kind"] == "Namespace"}
        if namespace is not None and namespace not in namespaces:
            failures.append(f'Error from server (NotFound): error when creating "{source}": namespaces "{namespace}" not found')
            continue
        record = {"apiVersion": api, "kind": kind, "namespace": namespace, "name": name,
                  "hash": hashlib.sha256(json.dumps(item, sort_keys=True).encode()).hexdigest()}
        if crd_kind:
            record["group"], record["crdKind"] = crd_kind
        if kind in WORKLOADS:
            record["containers"] = containers_of(item)
            record["replicas"] = (item.get("spec") or {}).get("replicas", 1)
            for c in record["containers"]:
                image = c["image"] or ""
                if docker_host() and image not in checked and not image_present(image):
                    warnings.append(f"{MARK} warning: image {image} is not present on this host; pods would be ErrImagePull offline")
                checked.add(image)
            if kind == "DaemonSet" and name == "calico-node":
                pool = next((c["env"]["CALICO_IPV4POOL_CIDR"] for c in record["containers"] if "CALICO_IPV4POOL_CIDR" in c["env"]), None)
                record["calicoIPv4PoolCIDR"] = pool
                pod = data.get("podSubnet")
                if pool is not None and pod is not None and cidr(pool) != cidr(pod):
                    failures.append(f"error: {MARK} calico-node: CALICO_IPV4POOL_CIDR {pool} does not match the cluster's podSubnet {pod}; calico's IPAM would refuse the pool and no pod would get an address")
                    continue
        existing = next((o for o in data["objects"] if (o["kind"], o.get("namespace"), o["name"], group_of(o["apiVersion"])) == (kind, namespace, name, group_of(api))), None)
        if existing is not None and create:
            failures.append(f'Error from server (AlreadyExists): error when creating "{source}": {plural(kind)}{"." + group_of(api) if group_of(api) else ""} "{name}" already exists')
            continue
        record["created"] = existing["created"] if existing else iso(now())
        if existing is None:
            data["objects"].append(record)
            verb = "created"
        else:
            verb = "unchanged" if existing["hash"] == record["hash"] else "configured"
            data["objects"][data["objects"].index(existing)] = record
        out(f"{ref_of(record)} {verb}")
    for w in warnings:
        err(w)
    if failures:
        raise Fail("\n".join(failures))


def node_rows(data, wide):
    rows = []
    for name in sorted(data["nodes"], key=lambda n: (data["nodes"][n]["role"] != "control-plane", n)):
        node = data["nodes"][name]
        roles = ("control-plane,master" if minor_of(node["version"]) <= 23 else "control-plane") if node["role"] == "control-plane" else "<none>"
        row = [name, node_status(data, name), roles, age(node.get("created")), node["version"]]
        if wide:
            row += [node.get("address") or "<none>", "<none>", os_image(node.get("root")), "4.18.0-348.el8.x86_64", runtime_version(data, node.get("root"))]
        rows.append(row)
    return rows


def os_image(root):
    try:
        with open(os.path.join(root or "", "etc/os-release")) as f:
            m = re.search(r'^PRETTY_NAME="?([^"\n]*)"?', f.read(), re.M)
            return m.group(1) if m else "Linux"
    except OSError:
        return "Linux"


def minor_of(version):
    return int(str(version).lstrip("v").split(".")[1])


def runtime_version(data, root):
    """The node's containerRuntimeVersion: docker://20.10.24 or containerd://1.7.25, from the runtime's RPM on the host."""
    runtime = data.get("runtime") or "docker"
    package = "containerd.io" if runtime == "containerd" else "docker-ce"
    code, stdout, _ = run(["rpm", "--root", root or ROOT, "-q", "--qf", "%{VERSION}", package])
    return f"{runtime}://" + (stdout.strip() if code == 0 and stdout.strip() else "unknown")


def node_json(data, name):
    node = data["nodes"][name]
    labels = {"kubernetes.io/hostname": name, "kubernetes.io/os": "linux"}
    if node["role"] == "control-plane":
        labels["node-role.kubernetes.io/control-plane"] = ""
        if minor_of(node["version"]) <= 23:
            # kubeadm stopped applying the old master label in 1.24.
            labels["node-role.kubernetes.io/master"] = ""
    return {
        "apiVersion": "v1", "kind": "Node",
        "metadata": {"name": name, "labels": labels, "creationTimestamp": node.get("created")},
        "status": {"conditions": [{"type": "Ready", "status": "True" if node_ready(data, name) else "False"}],
                   "addresses": [{"type": "InternalIP", "address": node.get("address")}, {"type": "Hostname", "address": name}],
                   "nodeInfo": {"kubeletVersion": node["version"], "osImage": os_image(node.get("root")), "containerRuntimeVersion": runtime_version(data, node.get("root"))}},
    }


def pods(data):
    """The pods the workloads would have: static pods and kubeadm's addons, then every applied workload."""
    ready = {n for n in data["nodes"] if node_ready(data, n)}
    kubelet = {n for n, node in data["nodes"].items() if node_ready(data, n) or (node.get("root") and unit_state("kubelet", "active", node["root"]))}
    cni = any(o["kind"] == "DaemonSet" and o["name"] == "calico-node" for o in data["objects"])
    result = []
    for n, node in data["nodes"].items():
        if node["role"] == "control-plane":
            for c in ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler"):
                result.append(("kube-system", f"{c}-{n}", 1, n in kubelet, data.get("created")))
        result.append(("kube-system", "kube-proxy-" + hashlib.sha256(n.encode()).hexdigest()[:5], 1, n in kubelet, node.get("created")))
    for i in range(2):
        result.append(("kube-system", f"coredns-64897985d-{hashlib.sha256(str(i).encode()).hexdigest()[:5]}", 1, cni and bool(ready), data.get("created")))
    for o in data["objects"]:
        if o["kind"] not in WORKLOADS:
            continue
        containers = len([c for c in o.get("containers", []) if not c.get("init")])
        suffix = lambda s: hashlib.sha256((o["name"] + s).encode()).hexdigest()
        if o["kind"] == "DaemonSet":
            for n in sorted(data["nodes"]):
                result.append((o["namespace"], f"{o['name']}-{suffix(n)[:5]}", containers, n in (kubelet if o["name"] == "calico-node" else ready), o["created"]))
        else:
            for r in range(int(o.get("replicas") or 1)):
                middle = suffix("")[:9] + "-" if o["kind"] == "Deployment" else ""
                name = f"{o['name']}-{middle}{suffix(str(r))[:5]}" if o["kind"] == "Deployment" else f"{o['name']}-{r}"
                result.append((o["namespace"], name, containers, bool(ready), o["created"]))
    return result


def kubectl(args):
    version = installed_version("kubectl", "kubectl")
    kubelet_pass()
    flags, positional, i = {}, [], 0
    value_flags = {"--kubeconfig", "-n", "--namespace", "-o", "--output", "-f", "--filename"}
    bool_flags = {"--no-headers", "-A", "--all-namespaces", "--client", "--short"}
    inner = None
    while i < len(args):
        a = args[i]
        if a == "--":
            inner = args[i + 1:]
            break
        key, eq, value = a.partition("=")
        if key in value_flags:
            if not eq:
                i += 1
                if i >= len(args):
                    raise Fail(f"error: flag needs an argument: {key}")
                value = args[i]
            flags.setdefault({"--namespace": "-n", "--output": "-o", "--filename": "-f"}.get(key, key), []).append(value)
        elif key in bool_flags:
            flags[{"--all-namespaces": "-A"}.get(key, key)] = True
        elif a.startswith("-") and a != "-":
            raise Fail(f"error: unknown flag: {key}\nSee 'kubectl --help' for usage.")
        else:
            positional.append(a)
        i += 1
    if not positional:
        raise Fail(f"{MARK} kubectl without a command is unsupported by the lab stand-in", 2)
    verb = positional[0]
    kubeconfig_flag = one(flags, "--kubeconfig")
    output = one(flags, "-o")
    no_headers = bool(flags.get("--no-headers"))

    if verb == "version":
        if not flags.get("--client"):
            raise Fail(f"{MARK} kubectl version without --client is unsupported by the lab stand-in", 2)
        if flags.get("--short"):
            out(f"Client Version: v{version}")
        else:
            out(f'Client Version: version.Info{{Major:"1", Minor:"{version.split(".")[1]}", GitVersion:"v{version}", GitTreeState:"clean", GoVersion:"go1.17.3", Compiler:"gc", Platform:"linux/amd64"}}')
        return

    if verb in ("apply", "create"):
        sources = flags.get("-f")
        if not sources or len(positional) > 1:
            raise Fail("error: must specify one of -f and -k" if not sources else f"{MARK} kubectl {verb} {positional[1]} is unsupported by the lab stand-in", 1 if not sources else 2)
        objects = read_manifests(sources)
        cluster = kubectl_connect(kubeconfig_flag)
        try:
            try:
                kubectl_apply(cluster.data, objects, verb == "create")
            finally:
                cluster.save()
        finally:
            cluster.__exit__()
        return

    if verb == "get" and len(positional) >= 2 and positional[1] in ("nodes", "node", "no"):
        cluster = kubectl_connect(kubeconfig_flag)
        try:
            data = cluster.data
            names = positional[2:] or list(data["nodes"])
            for n in names:
                if n not in data["nodes"]:
                    raise Fail(f'Error from server (NotFound): nodes "{n}" not found')
            if output == "name":
                for n in sorted(names):
                    out(f"node/{n}")
            elif output == "json":
                items = [node_json(data, n) for n in sorted(names)]
                out(json.dumps(items[0] if positional[2:] and len(items) == 1 else {"apiVersion": "v1", "kind": "List", "items": items, "metadata": {"resourceVersion": ""}}, indent=4))
            elif output in (None, "wide"):
                rows = [r for r in node_rows(data, output == "wide") if r[0] in names]
                headers = ["NAME", "STATUS", "ROLES", "AGE", "VERSION"]
                if output == "wide":
                    headers += ["INTERNAL-IP", "EXTERNAL-IP", "OS-IMAGE", "KERNEL-VERSION", "CONTAINER-RUNTIME"]
                table(headers, rows, no_headers)
            else:
                raise Fail(f"{MARK} kubectl get nodes -o {output} is unsupported by the lab stand-in", 2)
        finally:
            cluster.__exit__()
        return

    if verb == "get" and len(positional) == 2 and positional[1] in ("pods", "pod", "po"):
        if output not in (None, "wide"):
            raise Fail(f"{MARK} kubectl get pods -o {output} is unsupported by the lab stand-in", 2)
        cluster = kubectl_connect(kubeconfig_flag)
        try:
            all_ns = bool(flags.get("-A"))
            namespace = one(flags, "-n", "default")
            rows = []
            for ns, name, containers, running, created in sorted(pods(cluster.data)):
                if not all_ns and ns != namespace:
                    continue
                row = [name, f"{containers if running else 0}/{containers}", "Running" if running else "Pending", "0", age(created)]
                rows.append([ns] + row if all_ns else row)
            headers = ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]
            if not rows and not no_headers:
                err(f"No resources found{'' if all_ns else ' in ' + namespace + ' namespace'}.")
                return
            table(["NAMESPACE"] + headers if all_ns else headers, rows, no_headers)
        finally:
            cluster.__exit__()
        return

    if verb == "top" and len(positional) >= 2 and positional[1] in ("node", "nodes", "no"):
        cluster = kubectl_connect(kubeconfig_flag)
        try:
            data = cluster.data
            metrics = next((o for o in data["objects"] if o["kind"] == "Deployment" and o["name"] == "metrics-server" and o.get("namespace") == "kube-system"), None)
            if metrics is None or not any("--kubelet-insecure-tls" in c.get("args", []) + c.get("command", []) for c in metrics.get("containers", [])):
                raise Fail("error: Metrics API not available")
            ready = [n for n, _ in sorted(data["nodes"].items(), key=lambda kv: (kv[1]["role"] != "control-plane", kv[0])) if node_ready(data, n)]
            if not ready:
                raise Fail("error: metrics not available yet")
            rows = []
            for i, n in enumerate(ready):
                cpu = 180 if data["nodes"][n]["role"] == "control-plane" else 60 + 7 * i
                mem = 1210 if data["nodes"][n]["role"] == "control-plane" else 640 + 31 * i
                rows.append([n, f"{cpu}m", f"{cpu * 100 // 2000}%", f"{mem}Mi", f"{mem * 100 // 3780}%"])
            table(["NAME", "CPU(cores)", "CPU%", "MEMORY(bytes)", "MEMORY%"], rows, no_headers)
        finally:
            cluster.__exit__()
        return

    if verb == "delete" and len(positional) == 3 and positional[1] in ("node", "nodes", "no"):
        cluster = kubectl_connect(kubeconfig_flag)
        try:
            name = positional[2]
            if name not in cluster.data["nodes"]:
                raise Fail(f'Error from server (NotFound): nodes "{name}" not found')
            del cluster.data["nodes"][name]
            cluster.save()
            out(f'node "{name}" deleted')
        finally:
            cluster.__exit__()
        return

    if verb == "exec" and len(positional) == 2:
        kubectl_exec(kubeconfig_flag, one(flags, "-n", "default"), positional[1], inner)
        return

    raise Fail(f"{MARK} kubectl {' '.join(positional[:2])} is unsupported by the lab stand-in", 2)


def kubectl_exec(kubeconfig_flag, namespace, pod, command):
    """kubectl exec into a control plane's etcd static pod, for etcdctl member list: what etcd itself would answer."""
    if not command:
        raise Fail("error: you must specify at least one command for the container")
    cluster = kubectl_connect(kubeconfig_flag)
    try:
        data = cluster.data
        node = pod[len("etcd-"):] if pod.startswith("etcd-") else None
        if namespace != "kube-system" or node is None or data["nodes"].get(node, {}).get("role") != "control-plane":
            raise Fail(f'Error from server (NotFound): pods "{pod}" not found')
        if command[0] != "etcdctl" or command[-2:] != ["member", "list"]:
            raise Fail(f"{MARK} kubectl exec {pod} -- {' '.join(command)} is unsupported by the lab stand-in (etcdctl member list only)", 2)
        given = {a.split("=", 1)[0] for a in command if a.startswith("--")}
        missing = [f for f in ("--cacert", "--cert", "--key") if f not in given]
        if missing:
            raise Fail('{"level":"warn","msg":"retrying of unary invoker failed","error":"rpc error: code = DeadlineExceeded desc = latest balancer error: last connection error: '
                       'connection error: desc = \\"transport: authentication handshake failed: remote error: tls: bad certificate\\""}\n'
                       f"Error: context deadline exceeded (etcd wants client certificates: {', '.join(missing)} missing {MARK})\ncommand terminated with exit code 1")
        for m in data.get("etcdMembers", []):
            member_id = hashlib.sha256(m["name"].encode()).hexdigest()[:16]
            client = m["peerURL"].rsplit(":", 1)[0] + ":2379"
            out(f"{member_id}, {'started' if m['started'] else 'unstarted'}, {m['name'] if m['started'] else ''}, {m['peerURL']}, {client if m['started'] else ''}, false")
    finally:
        cluster.__exit__()


# ---------------------------------------------------------------- chronyd

SOURCE_OPTIONS_WITH_VALUE = {"minpoll", "maxpoll", "key", "polltarget", "port", "presend", "minstratum", "maxsources", "version",
                             "maxdelay", "maxdelayratio", "maxdelaydevratio", "mindelay", "asymmetry", "offset", "filter", "certset", "extfield", "maxsamples", "minsamples", "ntsport"}
SOURCE_OPTIONS = {"iburst", "burst", "prefer", "noselect", "offline", "auto_offline", "trust", "require", "xleave", "nts", "copy"}
LOG_WORDS = {"measurements", "statistics", "tracking", "rtc", "refclocks", "tempcomp", "rawmeasurements", "selection"}
DIRECTIVES = {"server", "pool", "peer", "allow", "deny", "local", "driftfile", "makestep", "rtcsync", "logdir", "keyfile",
              "leapsectz", "ntsdumpdir", "bindaddress", "log", "hwtimestamp", "minsources", "cmdallow", "initstepslew",
              "include", "confdir", "sourcedir", "stratumweight", "maxupdateskew"}


def hosts_file():
    names = {}
    try:
        with open(os.path.join(ROOT, "etc/hosts")) as f:
            for line in f:
                fields = line.split("#", 1)[0].split()
                for n in fields[1:]:
                    names.setdefault(n.lower(), fields[0])
    except OSError:
        pass
    return names


def is_float(text):
    try:
        float(text)
        return True
    except ValueError:
        return False


def is_int(text):
    return re.fullmatch(r"-?\d+", text) is not None


class ChronyError(Exception):
    pass


def chrony_source(address):
    try:
        ip = str(ipaddress.ip_address(address))
    except ValueError:
        ip = hosts_file().get(address.lower())
        if ip is None:
            raise ChronyError(f"source {address} cannot be resolved on this host (offline, and not in /etc/hosts) {MARK}")
    if not routable(ip):
        raise ChronyError(f"source {address} is not reachable from this host (the lab has no route outside) {MARK}")


def chrony_check(directive, words):
    """None when the directive's arguments parse; "parse" for chrony's 'Could not parse'."""
    n = len(words)
    if directive in ("server", "pool", "peer"):
        if n < 1:
            return "parse"
        i = 1
        while i < n:
            w = words[i].lower()
            if w in SOURCE_OPTIONS_WITH_VALUE:
                if i + 1 >= n or not is_float(words[i + 1]) and w != "certset":
                    return "parse"
                i += 2
            elif w in SOURCE_OPTIONS:
                i += 1
            else:
                return "parse"
        chrony_source(words[0])
    elif directive in ("allow", "deny", "cmdallow"):
        rest = words[1:] if words and words[0] == "all" else words
        if len(rest) > 1:
            return "parse"
        if rest and cidr(rest[0]) is None and not re.fullmatch(r"\d+(\.\d+){0,2}", rest[0]):
            return "parse"
    elif directive == "local":
        i = 0
        while i < n:
            w = words[i]
            if w == "stratum":
                if i + 1 >= n or not is_int(words[i + 1]) or not 1 <= int(words[i + 1]) <= 15:
                    return "parse"
                i += 2
            elif w in ("distance", "activate", "waitsynced", "waitunsynced"):
                if i + 1 >= n or not is_float(words[i + 1]):
                    return "parse"
                i += 2
            elif w == "orphan":
                i += 1
            else:
                return "parse"
    elif directive in ("driftfile", "logdir", "keyfile", "leapsectz", "ntsdumpdir", "include"):
        if n != 1:
            return "parse"
    elif directive in ("confdir", "sourcedir"):
        if n < 1:
            return "parse"
    elif directive == "makestep":
        if n != 2 or not is_float(words[0]) or not is_int(words[1]):
            return "parse"
    elif directive == "rtcsync":
        if n != 0:
            return "parse"
    elif directive == "log":
        if n < 1 or any(w not in LOG_WORDS for w in words):
            return "parse"
    elif directive == "bindaddress":
        if n != 1:
            return "parse"
        try:
            ipaddress.ip_address(words[0])
        except ValueError:
            return "parse"
    elif directive == "hwtimestamp":
        if n < 1:
            return "parse"
    elif directive == "minsources":
        if n != 1 or not is_int(words[0]) or int(words[0]) < 1:
            return "parse"
    elif directive in ("stratumweight", "maxupdateskew"):
        if n != 1 or not is_float(words[0]):
            return "parse"
    elif directive == "initstepslew":
        if n < 2 or not is_float(words[0]):
            return "parse"
        for address in words[1:]:
            chrony_source(address)
    return None


def chrony_read(path, shown, printed, depth=0):
    try:
        with open(path) as f:
            lines = f.read().splitlines()
    except OSError:
        raise ChronyError(f"Could not open configuration file {shown} : No such file or directory")
    for number, raw in enumerate(lines, 1):
        line = raw.strip()
        if not line or line[0] in "#;!%":
            continue
        words = line.split()
        directive = words[0].lower()
        if directive not in DIRECTIVES:
            raise ChronyError(f"Invalid directive at line {number} in file {shown}")
        if chrony_check(directive, words[1:]) == "parse":
            raise ChronyError(f"Could not parse {directive} directive at line {number} in file {shown}")
        printed.append(line)
        if depth < 10 and directive == "include":
            for f in sorted(glob.glob(under_root(words[1]))):
                chrony_read(f, f[len(ROOT):], printed, depth + 1)
        if depth < 10 and directive in ("confdir", "sourcedir"):
            ext = ".conf" if directive == "confdir" else ".sources"
            for d in words[1:]:
                for f in sorted(glob.glob(os.path.join(under_root(d), "*" + ext))):
                    chrony_read(f, f[len(ROOT):], printed, depth + 1)


def chronyd(args):
    installed_version("chrony", "chronyd")
    values, positional, i, print_only = {}, [], 0, False
    while i < len(args):
        a = args[i]
        if a == "-p":
            print_only = True
        elif a == "-f":
            if i + 1 >= len(args):
                raise Fail("Fatal error : Missing argument for -f", 1)
            values["-f"] = args[i + 1]
            i += 1
        else:
            positional.append(a)
        i += 1
    if not print_only or positional:
        raise Fail(f"{MARK} chronyd {' '.join(args)}: only `chronyd -p [-f FILE]` is supported by the lab stand-in (the lab runs no chronyd)", 2)
    given = values.get("-f", "/etc/chrony.conf")
    shown = given[len(ROOT):] if given.startswith(ROOT + "/") else given
    printed = []
    try:
        chrony_read(input_path(given) if "-f" in values else under_root(given), shown, printed)
    except ChronyError as e:
        raise Fail(f"Fatal error : {e}")
    for line in printed:
        out(line)


def main():
    tool, args = sys.argv[1], sys.argv[2:]
    try:
        {"kubeadm": kubeadm, "kubectl": kubectl, "chronyd": chronyd}[tool](args)
    except Fail as e:
        sys.stdout.flush()
        err(str(e))
        sys.exit(e.code)


if __name__ == "__main__":
    main()
