#!/usr/bin/env bash
# Site mode: makes this host the depot of the site. It serves this bundle's folder over HTTP with nginx
# (rpms/ is then the site's yum repository; the other hosts fetch the scripts from here too) and the
# bundle's images from a registry seeded by the bundle's own `offlinekit images push`.
#
#   bash scripts/serve-depot.sh --http-port 8080 --registry-port 5000 --path k8s
#        the depot's own registry: the CNCF distribution registry whose image the bundle carries
#        (docker.io/library/registry:2…), run by this host's runtime (docker or containerd), plain HTTP
#   bash scripts/serve-depot.sh --http-port 8080 --site-registry HOST:PORT/PATH [--insecure] [--ca-file F] [--docker-config DIR]
#        the site's existing registry (a Harbor): only seeded; credentials from DIR/config.json (offlinekit
#        writes it from the operator's docker config, that registry's entry alone), else root's docker config
#   --shared-dir DIR  also serves DIR under /shared/: the files offlinekit renders the same for every host
#        (the /etc/hosts list), which the other hosts fetch and check instead of being sent each a copy
#
# nginx is installed from the bundle's own repository (install-packages.sh --package nginx). Safe to run
# again: nginx is reloaded, a running registry kept, and images push sends only what is missing.
#
# Lab seams, not for hosts: OFFLINEKIT_REGISTRY_STANDIN=PATH runs that registry binary (Debian's
# docker-registry) directly in this host's namespace instead of the container a lab host cannot run;
# OFFLINEKIT_NGINX=PATH runs that nginx binary; OFFLINEKIT_BIN=PATH is the offlinekit that pushes.
set -euo pipefail

bundle_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
http_port=""
registry_port=""
path=""
site_registry=""
insecure=""
ca_file=""
docker_config=""
shared_dir=""

usage() { sed -n '2,16p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 2; }
say() { echo "serve-depot: $*"; }
die() { echo "serve-depot: $*" >&2; exit 1; }

while [[ $# -gt 0 ]]; do
  case "$1" in
    --http-port) http_port="${2:-}"; shift 2 ;;
    --registry-port) registry_port="${2:-}"; shift 2 ;;
    --path) path="${2:-}"; shift 2 ;;
    --site-registry) site_registry="${2:-}"; shift 2 ;;
    --insecure) insecure=1; shift ;;
    --ca-file) ca_file="${2:-}"; shift 2 ;;
    --docker-config) docker_config="${2:-}"; shift 2 ;;
    --shared-dir) shared_dir="${2:-}"; shift 2 ;;
    -h|--help) usage ;;
    *) echo "serve-depot: unknown argument '$1'" >&2; usage ;;
  esac
done

port_ok() { [[ "$1" =~ ^[0-9]+$ ]] && (( $1 > 0 && $1 < 65536 )); }
port_ok "$http_port" || { echo "serve-depot: --http-port is a port number, not '$http_port'" >&2; usage; }
if [[ -z "$site_registry" ]]; then
  port_ok "$registry_port" || { echo "serve-depot: --registry-port is a port number, not '$registry_port' (or give --site-registry)" >&2; usage; }
fi

state="$(dirname "$bundle_dir")/depot"
mkdir -p "$state"

# --- nginx: the bundle's folder, read-only, on --http-port ---
bash "$bundle_dir/scripts/install-packages.sh" --package nginx \
  || die "nginx could not be installed from the bundle's rpms/ (a site-mode bundle carries it: build it with --with depot)"
nginx_bin="${OFFLINEKIT_NGINX:-$(command -v nginx || true)}"
[[ -n "$nginx_bin" ]] || die "nginx is not on PATH after installing it"

conf="$state/nginx.conf"
{
  echo "# Written by offlinekit's serve-depot.sh: the bundle $bundle_dir, read-only, for the site's hosts."
  echo "worker_processes 2;"
  echo "pid $state/nginx.pid;"
  echo "error_log $state/nginx-error.log;"
  echo "events { worker_connections 1024; }"
  echo "http {"
  echo "  access_log $state/nginx-access.log;"
  echo "  sendfile on;"
  echo "  default_type application/octet-stream;"
  echo "  client_body_temp_path $state/tmp;"
  echo "  server {"
  echo "    listen $http_port;"
  echo "    root $bundle_dir;"
  echo "    autoindex off;"
  echo "    location / { limit_except GET HEAD { deny all; } }"
  [[ -z "$shared_dir" ]] || echo "    location /shared/ { alias $shared_dir/; limit_except GET HEAD { deny all; } }"
  echo "  }"
  echo "}"
} > "$conf.tmp"
mkdir -p "$state/tmp"
mv "$conf.tmp" "$conf"
"$nginx_bin" -t -c "$conf" -p "$state" >/dev/null 2>&1 || { "$nginx_bin" -t -c "$conf" -p "$state" || true; die "nginx refuses $conf"; }
if [[ -f "$state/nginx.pid" ]] && kill -0 "$(cat "$state/nginx.pid")" 2>/dev/null; then
  "$nginx_bin" -c "$conf" -p "$state" -s reload
  say "nginx reloaded: $bundle_dir on :$http_port"
else
  "$nginx_bin" -c "$conf" -p "$state"
  say "nginx started: $bundle_dir on :$http_port"
fi

wait_for() {
  local url="$1" what="$2" i
  for i in $(seq 1 50); do
    curl -fsS -o /dev/null "$url" 2>/dev/null && return 0
    sleep 0.2
  done
  die "$what does not answer at $url"
}
wait_for "http://127.0.0.1:$http_port/bundle.json" "nginx"

# --- the registry ---
push_args=()
if [[ -n "$site_registry" ]]; then
  target="$site_registry"
  [[ -n "$insecure" ]] && push_args+=(--insecure-registry "${site_registry%%/*}")
  [[ -n "$ca_file" ]] && push_args+=(--ca-file "$ca_file")
  if [[ -n "$docker_config" ]]; then
    [[ -f "$docker_config/config.json" ]] || die "$docker_config/config.json is missing: offlinekit writes it before this step; run the install again"
    export DOCKER_CONFIG="$docker_config"
  fi
else
  target="127.0.0.1:$registry_port${path:+/$path}"
  push_args+=(--insecure-registry "127.0.0.1:$registry_port")
  data="$state/registry"
  mkdir -p "$data"
  if curl -fsS -o /dev/null "http://127.0.0.1:$registry_port/v2/" 2>/dev/null; then
    say "the registry answers on :$registry_port already"
  elif [[ -n "${OFFLINEKIT_REGISTRY_STANDIN:-}" ]]; then
    # Lab stand-in for the container: the same distribution registry, as a process in this namespace.
    cat > "$state/registry.yml" <<EOF
version: 0.1
storage:
  filesystem:
    rootdirectory: $data
  delete:
    enabled: false
http:
  addr: :$registry_port
EOF
    nohup "$OFFLINEKIT_REGISTRY_STANDIN" serve "$state/registry.yml" </dev/null >"$state/registry.log" 2>&1 &
    echo $! > "$state/registry.pid"
    say "registry stand-in ($OFFLINEKIT_REGISTRY_STANDIN, in place of the container) started on :$registry_port"
  else
    image="$(cat "$bundle_dir"/images/*.images 2>/dev/null | grep -E '(^|/)registry:2' | head -n 1 || true)"
    [[ -n "$image" ]] || die "the bundle carries no registry image (docker.io/library/registry:2…): build the bundle with --with depot to serve images from the depot, or name the site's registry (cluster.site.registry)"
    bash "$bundle_dir/scripts/import-images.sh" --role control-plane >/dev/null || die "the bundle's images could not be loaded (import-images.sh)"
    if command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; then
      docker rm -f offlinekit-depot-registry >/dev/null 2>&1 || true
      docker run -d --restart=always --name offlinekit-depot-registry -p "$registry_port:5000" -v "$data:/var/lib/registry" "$image" >/dev/null
    elif command -v ctr >/dev/null 2>&1; then
      ctr -n k8s.io tasks kill offlinekit-depot-registry >/dev/null 2>&1 || true
      ctr -n k8s.io containers rm offlinekit-depot-registry >/dev/null 2>&1 || true
      ctr -n k8s.io run -d --net-host --env "REGISTRY_HTTP_ADDR=:$registry_port" \
        --mount "type=bind,src=$data,dst=/var/lib/registry,options=rbind:rw" "$image" offlinekit-depot-registry >/dev/null
    else
      die "neither docker nor containerd answers on this host to run the registry"
    fi
    say "registry $image started by the runtime on :$registry_port"
  fi
  wait_for "http://127.0.0.1:$registry_port/v2/" "the registry"
fi

# --- seed it: the bundle's own offlinekit, the same code as `offlinekit images push` ---
offlinekit="${OFFLINEKIT_BIN:-$bundle_dir/bin/offlinekit}"
[[ -x "$offlinekit" ]] || die "$offlinekit is missing: the bundle carries no offlinekit binary to push its images with"
"$offlinekit" images push "$bundle_dir" --registry "$target" ${push_args[@]+"${push_args[@]}"} \
  || die "offlinekit images push to $target failed (see its message above)"
say "OK: $bundle_dir on :$http_port, images in $target"
