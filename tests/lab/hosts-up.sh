#!/usr/bin/env bash
# The lab's three hosts: k8s-master, k8s-node01 and k8s-node02, as in the guide; OFFLINEKIT_LAB_HOSTS=N
# (3 to 150) starts N: k8s-master and k8s-node01 … (the scale benchmark's site-mode runs).
# After them k8s-master02 and k8s-master03, the other control planes of a highly available cluster
# (three control planes and two workers with the first three).
#
# Each host is a network namespace joined to this machine by a veth pair (10.231.0.101-…, routed
# only to those veths; the namespaces have no default route, so nothing in them reaches anywhere
# else), with a real sshd of its own: its own host keys, authorized_keys, log and state root.
# Where namespaces cannot be made, each sshd listens on 127.0.10.101-… port 2222 instead.
#
#   bash tests/lab/hosts-up.sh          # state in .lab/hosts, or $OFFLINEKIT_LAB_DIR
#   bash tests/lab/hosts-down.sh        # stops what this started and removes it all
#
# OFFLINEKIT_LAB_TAKEOVER=1 first stops another lab that is up (the tests use it after a killed run).
# Logins: root with the lab's key (client/id_ed25519, or the encrypted client/id_ed25519_pass), and
# the user oklab with a password and sudo that asks for it. Running it again restarts the lab.
# Writes lab.env (addresses, users, secrets for the tests), inventory.yaml and known_hosts.
#
# The lab hosts share this machine's files, so the install steps' scripts must never touch its /etc,
# kernel or services. Each host's sshd sets, for every session (SetEnv; sudo keeps them for oklab):
#   HOME=<host>/root/root          the host's own root home (only an .rpmmacros, see below): never this machine's
#                                  /root, whose ~/.bashrc bash would source for every command sshd runs
#                                  (Debian's bash does for ssh sessions; a pyenv init there cost ~1 s of CPU
#                                  per command, which the scale benchmark measured as install time)
#   OFFLINEKIT_ROOT=<host>/root    the host's root: the scripts read and write /etc/... under it, and
#                                  install-packages.sh installs into it with dnf --installroot
#   PATH=tests/lab/standins:...    the stand-ins for systemctl, setenforce, getenforce, modprobe,
#                                  sysctl, swapoff, hostnamectl, kubeadm, kubectl and chronyd (each
#                                  records what it was asked in <host>/root/var/log/offlinekit-standins.log)
#   DOCKER_HOST, CONTAINERD_ADDRESS  the host's own sockets under <host>/, never this machine's daemons
#                                  (their daemons start when the install's runtime step starts them);
#                                  CONTAINERD_SNAPSHOTTER=native: ctr unpacks without overlay mounts
#   OFFLINEKIT_LAB_CLUSTER=<lab>/cluster  the cluster the hosts share: the kubeadm and kubectl stand-ins
#                                  keep in its cluster.json what the API server would hold
#   OFFLINEKIT_REGISTRY_STANDIN, OFFLINEKIT_NGINX, OFFLINEKIT_BIN  a site-mode depot (serve-depot.sh) runs
#                                  Debian's docker-registry as a process in place of the registry container
#                                  a namespace host cannot run, this machine's nginx (the bundle's nginx RPM
#                                  goes into the host's root), and the published offlinekit (lab bundles
#                                  are built --without bin)
# and the root is seeded like a fresh CentOS 8 host: os-release, firewalld on, SELinux enforcing, swap
# on and in fstab. The namespaces route the lab's /24 to the gateway, so a worker's `ip route get` finds
# the control plane (the stand-ins check reachability that way) while outside addresses stay unroutable.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
lab="${OFFLINEKIT_LAB_DIR:-$repo/.lab/hosts}"
mode="${OFFLINEKIT_LAB_MODE:-auto}"
count="${OFFLINEKIT_LAB_HOSTS:-3}"
[[ "$count" =~ ^[0-9]+$ ]] && (( count >= 3 && count <= 150 )) || { echo "hosts-up: OFFLINEKIT_LAB_HOSTS is 3 to 150, not '$count'" >&2; exit 2; }
hosts=(k8s-master)
links=(oklab-master)
for ((n = 1; n < count; n++)); do
  hosts+=("$(printf 'k8s-node%02d' "$n")")
  links+=("$(printf 'oklab-node%02d' "$n")")
done
# Two more control planes for a highly available cluster (issue 13), after the others (lab.env: LAB_HA_HOSTS).
ha_hosts=(k8s-master02 k8s-master03)
hosts+=("${ha_hosts[@]}")
links+=(oklab-master02 oklab-master03)
gateway=10.231.0.1
lab_user=oklab
password="${OFFLINEKIT_LAB_PASSWORD:-oklab-Lab-Pa55-7f3a}"
passphrase="${OFFLINEKIT_LAB_PASSPHRASE:-oklab-Key-Phrase-91c2}"
owner_file=/run/offlinekit-lab.owner

say() { echo "hosts-up: $*"; }
die() { echo "hosts-up: $*" >&2; exit 1; }

[[ $EUID -eq 0 ]] || die "needs root (network namespaces, sshd, a lab user)"
for tool in ip sshd ssh-keygen sudo useradd chpasswd; do
  command -v "$tool" >/dev/null 2>&1 || [[ -x /usr/sbin/$tool ]] \
    || die "'$tool' is missing: apt-get install iproute2 openssh-server openssh-client sudo passwd"
done
sshd_bin="$(command -v sshd || echo /usr/sbin/sshd)"

# The namespaces, links and lab user have fixed names: one lab at a time on a machine.
if [[ -f "$owner_file" && "$(cat "$owner_file")" != "$lab" ]]; then
  if [[ "${OFFLINEKIT_LAB_TAKEOVER:-0}" == 1 ]]; then
    # The tests' choice: a lab left by a killed run is garbage; stop it (by its recorded PIDs) first.
    say "stopping the lab left at $(cat "$owner_file")"
    OFFLINEKIT_LAB_DIR="$(cat "$owner_file")" OFFLINEKIT_LAB_KEEP=1 bash "$repo/tests/lab/hosts-down.sh" >/dev/null
  else
    die "another lab ($(cat "$owner_file")) is up; stop it first: OFFLINEKIT_LAB_DIR=$(cat "$owner_file") bash tests/lab/hosts-down.sh"
  fi
fi

# Safe to run twice: stop what a previous run of this lab started, then start afresh.
OFFLINEKIT_LAB_DIR="$lab" OFFLINEKIT_LAB_KEEP=0 bash "$repo/tests/lab/hosts-down.sh" >/dev/null

if [[ "$mode" == auto ]]; then
  if ip netns add oklab-probe 2>/dev/null && ip netns del oklab-probe; then mode=netns; else mode=loopback; fi
fi
say "mode: $mode"

mkdir -p "$lab/client"
chmod 755 "$lab"
echo "$lab" > "$owner_file"

# Client keys: one authorized, one encrypted and authorized, one that no host accepts.
ssh-keygen -q -t ed25519 -N '' -C oklab-client -f "$lab/client/id_ed25519"
ssh-keygen -q -t ed25519 -N "$passphrase" -C oklab-client-pass -f "$lab/client/id_ed25519_pass"
ssh-keygen -q -t ed25519 -N '' -C oklab-wrong -f "$lab/client/id_wrong"

# A login user with a password, and sudo that asks for it.
if ! id "$lab_user" >/dev/null 2>&1; then
  useradd --no-create-home --home-dir / --shell /bin/sh "$lab_user"
  touch "$lab/.created-user"
fi
echo "$lab_user:$password" | chpasswd
{
  echo "$lab_user ALL=(ALL:ALL) ALL"
  # The lab seam (see the top) must survive sudo: keep its variables and the session's PATH.
  echo "Defaults:$lab_user env_keep += \"OFFLINEKIT_ROOT DOCKER_HOST CONTAINERD_ADDRESS CONTAINERD_SNAPSHOTTER OFFLINEKIT_LAB_CLUSTER OFFLINEKIT_REGISTRY_STANDIN OFFLINEKIT_NGINX OFFLINEKIT_BIN\", !secure_path"
} > /etc/sudoers.d/offlinekit-lab
visudo -cf /etc/sudoers.d/offlinekit-lab >/dev/null || die "the lab's sudoers file does not parse"
chmod 0440 /etc/sudoers.d/offlinekit-lab
mkdir -p /run/sshd
chmod 0755 /run/sshd
# The lab user writes its hosts' state roots: every folder above them must let it through.
runuser -u "$lab_user" -- test -x "$lab" \
  || die "$lab is not reachable by the lab user $lab_user: give its parent folders o+x (mktemp -d makes 0700 ones)"

: > "$lab/known_hosts"
# The shared cluster state of the kubeadm/kubectl stand-ins: empty, as before any kubeadm init.
rm -rf "$lab/cluster"
mkdir -p "$lab/cluster"
chmod 777 "$lab/cluster"
for i in "${!hosts[@]}"; do
  name="${hosts[$i]}"
  dir="$lab/$name"
  mkdir -p "$dir/etc" "$dir/root/var/lib/offlinekit" "$dir/root/root"
  chmod 700 "$dir/root/root"
  # Debian's rpm keeps its database at $HOME/.rpmdb (%_dbpath), under --root: with HOME the host's own, the
  # host's dnf would put it at <root><root>/root/.rpmdb, where neither sudo sessions (HOME /root) nor the
  # tests (rpm --root) look. One place for every session and the tests: <root>/root/.rpmdb.
  echo '%_dbpath /root/.rpmdb' > "$dir/root/root/.rpmmacros"
  chmod 755 "$dir" "$dir/root" "$dir/root/var" "$dir/root/var/lib"
  # A fresh EL8 host, as far as the prepare and runtime steps look (the stand-ins keep the rest).
  root="$dir/root"
  mkdir -p "$root/etc/selinux" "$root/sys/fs/selinux" "$root/proc" "$root/var/lib/offlinekit-standins/systemd"
  printf 'SELINUX=enforcing\nSELINUXTYPE=targeted\n' > "$root/etc/selinux/config"
  printf '%s\n' 'NAME="CentOS Linux"' 'VERSION="8"' 'ID="centos"' 'ID_LIKE="rhel fedora"' 'VERSION_ID="8"' \
    'PLATFORM_ID="platform:el8"' 'PRETTY_NAME="CentOS Linux 8"' 'ANSI_COLOR="0;31"' 'CPE_NAME="cpe:/o:centos:centos:8"' > "$root/etc/os-release"
  echo 1 > "$root/sys/fs/selinux/enforce"
  printf 'Filename\tType\tSize\tUsed\tPriority\n/dev/dm-1\tpartition\t2097148\t0\t-2\n' > "$root/proc/swaps"
  printf '/dev/mapper/cl-root / xfs defaults 0 0\n/dev/mapper/cl-swap none swap defaults 0 0\n' > "$root/etc/fstab"
  printf '127.0.0.1   localhost localhost.localdomain\n::1         localhost localhost.localdomain\n' > "$root/etc/hosts"
  echo localhost.localdomain > "$root/etc/hostname"
  # Its own DMI product_uuid and machine-id, as every EL host has: preflight tells hosts apart by them.
  mkdir -p "$root/sys/class/dmi/id"
  cat /proc/sys/kernel/random/uuid > "$root/sys/class/dmi/id/product_uuid"
  tr -d '-' < /proc/sys/kernel/random/uuid > "$root/etc/machine-id"
  touch "$root/var/lib/offlinekit-standins/systemd/firewalld.enabled" "$root/var/lib/offlinekit-standins/systemd/firewalld.active"
  ssh-keygen -q -t ed25519 -N '' -C "$name" -f "$dir/etc/ssh_host_ed25519_key"
  ssh-keygen -q -t ecdsa -N '' -C "$name" -f "$dir/etc/ssh_host_ecdsa_key"
  cat "$lab/client/id_ed25519.pub" "$lab/client/id_ed25519_pass.pub" > "$dir/etc/authorized_keys"
  chmod 644 "$dir/etc/authorized_keys"

  if [[ "$mode" == netns ]]; then
    address="10.231.0.$((101 + i))"
    port=22
    ns="oklab-$name"
    link="${links[$i]}"
    ip netns add "$ns"
    ip link add "$link" type veth peer name "okpeer$i"
    ip link set "okpeer$i" netns "$ns"
    ip -n "$ns" link set "okpeer$i" name eth0
    ip addr add "$gateway" peer "$address" dev "$link"
    ip link set "$link" up
    ip -n "$ns" link set lo up
    ip -n "$ns" addr add "$address" peer "$gateway" dev eth0
    ip -n "$ns" link set eth0 up
    # The other lab hosts through the gateway; nothing else (no default route).
    ip -n "$ns" route add 10.231.0.0/24 via "$gateway" dev eth0
    route="$(ip route get "$address")"
    [[ "$route" == *" dev $link "* ]] || die "$address is not routed to $link: $route"
    run=(ip netns exec "$ns")
  else
    address="127.0.10.$((101 + i))"
    port=2222
    run=()
  fi

  cat > "$dir/etc/sshd_config" <<EOF
# The lab host $name: everything in $dir.
ListenAddress $address:$port
HostKey $dir/etc/ssh_host_ed25519_key
HostKey $dir/etc/ssh_host_ecdsa_key
PidFile $dir/sshd.pid
AuthorizedKeysFile $dir/etc/authorized_keys
AllowUsers root $lab_user
PermitRootLogin yes
PasswordAuthentication yes
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
PrintMotd no
MaxStartups 50
MaxSessions 50
LogLevel INFO
Subsystem sftp internal-sftp
# The lab seam (see hosts-up.sh): this host's root and stand-ins, never this machine's.
SetEnv HOME=$dir/root/root OFFLINEKIT_ROOT=$dir/root PATH=$repo/tests/lab/standins:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin DOCKER_HOST=unix://$dir/docker.sock CONTAINERD_ADDRESS=$dir/containerd.sock CONTAINERD_SNAPSHOTTER=native OFFLINEKIT_LAB_CLUSTER=$lab/cluster OFFLINEKIT_REGISTRY_STANDIN=/usr/bin/docker-registry OFFLINEKIT_NGINX=/usr/sbin/nginx OFFLINEKIT_BIN=${OFFLINEKIT_DIST:-$repo/dist}/linux-x64/offlinekit
EOF
  "$sshd_bin" -t -f "$dir/etc/sshd_config"
  "${run[@]}" "$sshd_bin" -f "$dir/etc/sshd_config" -E "$dir/sshd.log"

  for _ in $(seq 100); do
    [[ -s "$dir/sshd.pid" ]] && "${run[@]}" bash -c "exec 3<>/dev/tcp/$address/$port" 2>/dev/null && break
    sleep 0.05
  done
  "${run[@]}" bash -c "exec 3<>/dev/tcp/$address/$port" 2>/dev/null || die "sshd of $name does not answer on $address:$port; see $dir/sshd.log"

  known="$address"
  [[ $port == 22 ]] || known="[$address]:$port"
  for key in "$dir"/etc/ssh_host_*_key.pub; do
    echo "$known $(cut -d' ' -f1,2 "$key")" >> "$lab/known_hosts"
  done
  echo "$address" > "$dir/address"
  echo "$port" > "$dir/port"
  say "$name: sshd $(cat "$dir/sshd.pid") on $address:$port, state root $dir/root"
done

cat > "$lab/lab.env" <<EOF
LAB_DIR=$lab
LAB_MODE=$mode
LAB_HOSTS="${hosts[*]:0:$count}"
LAB_ADDRESSES="$(for h in "${hosts[@]:0:$count}"; do printf '%s ' "$(cat "$lab/$h/address")"; done)"
LAB_HA_HOSTS="${ha_hosts[*]}"
LAB_HA_ADDRESSES="$(for h in "${ha_hosts[@]}"; do printf '%s ' "$(cat "$lab/$h/address")"; done)"
LAB_PORT=$(cat "$lab/${hosts[0]}/port")
LAB_USER=$lab_user
LAB_PASSWORD=$password
LAB_PASSPHRASE=$passphrase
LAB_KEY=$lab/client/id_ed25519
LAB_KEY_PASS=$lab/client/id_ed25519_pass
LAB_KEY_WRONG=$lab/client/id_wrong
EOF

# The guide's cluster on the lab: root with a key, oklab with password and sudo, root with an encrypted key.
cat > "$lab/inventory.yaml" <<EOF
# The lab's three hosts (tests/lab/hosts-up.sh). Secrets come from the environment:
#   export OFFLINEKIT_LAB_PASSWORD=... OFFLINEKIT_LAB_PASSPHRASE=...   (see lab.env)
apiVersion: offlinekit/v1
kind: Inventory
defaults:
  port: $(cat "$lab/${hosts[0]}/port")
hosts:
  - name: k8s-master
    address: $(cat "$lab/k8s-master/address")
    roles: [control-plane]
    user: root
    auth: {privateKey: client/id_ed25519}
    stateDir: $lab/k8s-master/root/var/lib/offlinekit
  - name: k8s-node01
    address: $(cat "$lab/k8s-node01/address")
    roles: [worker]
    user: $lab_user
    auth: {passwordEnv: OFFLINEKIT_LAB_PASSWORD}
    sudo: {passwordEnv: OFFLINEKIT_LAB_PASSWORD}
    stateDir: $lab/k8s-node01/root/var/lib/offlinekit
  - name: k8s-node02
    address: $(cat "$lab/k8s-node02/address")
    roles: [worker]
    user: root
    auth: {privateKey: client/id_ed25519_pass, passphraseEnv: OFFLINEKIT_LAB_PASSPHRASE}
    stateDir: $lab/k8s-node02/root/var/lib/offlinekit
EOF
# Past the guide's three: root with the lab's key.
for h in "${hosts[@]:3}"; do
  printf '  - name: %s\n    address: %s\n    roles: [worker]\n    user: root\n    auth: {privateKey: client/id_ed25519}\n    stateDir: %s\n' \
    "$h" "$(cat "$lab/$h/address")" "$lab/$h/root/var/lib/offlinekit" >> "$lab/inventory.yaml"
done
say "up: $lab/lab.env, $lab/inventory.yaml, $lab/known_hosts"
