#!/usr/bin/env bash
# Installs the real BitTorrent peers and tracker, and the Redis, NATS and S3 (OpenStack Swift with
# s3api) servers, that the test suite runs against, and Chromium for the dashboard's browser test
# (driven by npm playwright-core; never a downloaded browser) (Debian packages).
# Safe to run again: it only installs what is missing. Needs root (or sudo) for apt-get.
set -euo pipefail
pkgs=(opentracker mktorrent python3-libtorrent transmission-daemon transmission-cli aria2 qbittorrent-nox time
  redis-server nats-server swift-proxy swift-account swift-container swift-object memcached chromium)
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
