#!/usr/bin/env bash
# Installs the real BitTorrent peers and tracker, and the Redis, NATS and S3 (OpenStack Swift with
# s3api) servers, that the test suite runs against, plus docker-compose and kubectl, with which
# test/deploy checks the compose file and renders the Kubernetes manifests, Chromium for the
# dashboard's browser test (driven by npm playwright-core; never a downloaded browser), and
# iproute2 and socat for the scale-out lab (Debian packages).
# Safe to run again: it only installs what is missing. Needs root (or sudo) for apt-get.
set -euo pipefail
pkgs=(iproute2 socat opentracker mktorrent python3-libtorrent transmission-daemon transmission-cli aria2 qbittorrent-nox time
  redis-server nats-server swift-proxy swift-account swift-container swift-object memcached docker-compose chromium)
# kubectl: Debian ships it as kubernetes-client (1.20, whose built-in kustomize the manifests are
# written for). A kubectl already on the machine from another source is used as it is; installing
# Debian's over it would collide on /usr/bin/kubectl.
command -v kubectl >/dev/null || pkgs+=(kubernetes-client)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  SUDO=; [[ $(id -u) -ne 0 ]] && SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
echo "test dependencies present: ${pkgs[*]}"
