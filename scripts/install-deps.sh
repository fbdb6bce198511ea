#!/usr/bin/env bash
# Installs every Debian 12 package that building and testing strait needs, when it is missing.
# Idempotent and quiet when everything is present; uses sudo when not root.
set -euo pipefail

packages=(
  # toolchain
  g++ cmake ninja-build ccache clang libclang-rt-14-dev clang-16 libclang-rt-16-dev make pkg-config
  # libraries (see docs/dependencies.md for why each one)
  libasio-dev libssl-dev libnghttp2-dev libre2-dev libyaml-cpp-dev libspdlog-dev libfmt-dev
  libcli11-dev nlohmann-json3-dev libsqlite3-dev libgtest-dev libgmock-dev libbenchmark-dev
  protobuf-compiler libprotobuf-dev libgrpc++-dev protobuf-compiler-grpc
  # the sample application of the demo
  libcpp-httplib-dev
  # test clients and tools
  curl openssl nghttp2-client python3 python3-grpcio procps iproute2 testssl.sh prometheus
  # the dashboard's browser test (Playwright drives Debian's Chromium, headless)
  chromium
)
# The dashboard is built with npm (Node.js 20 or newer, for Vite 7). The machines this project
# runs on come with NodeSource's nodejs package; a machine without Node.js gets Debian's.
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  packages+=(nodejs npm)
fi
if [[ "${1:-}" == "--bench" ]]; then
  packages+=(haproxy nginx-light wrk)
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

echo "install-deps: installing ${missing[*]}"
sudo=""
[[ $(id -u) -ne 0 ]] && sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if (( node_major < 20 )); then
  echo "install-deps: Node.js $(node --version 2>/dev/null) is too old for the dashboard's build (Vite 7 needs 20.19+)" >&2
fi
