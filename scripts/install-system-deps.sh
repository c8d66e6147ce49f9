#!/usr/bin/env bash
# Install the system packages the demo, tests and benchmarks need, when missing: nginx (tests, demo), Debian's
# docker.io and debootstrap (the image tests build real images; debootstrap makes stand-in base images where no
# registry answers), a C/C++ compiler and cmake (llama-cpp-python has no wheels: pip builds llama.cpp for the
# llama.cpp tests) and, with --bench, wrk. Uses apt-get (as root, or through sudo).
set -euo pipefail

packages=()
have() { command -v "$1" >/dev/null 2>&1 || [[ -x "/usr/sbin/$1" ]]; }
have nginx || packages+=(nginx)
if [[ "${1:-}" != --demo ]]; then
    have dockerd || packages+=(docker.io)
    have debootstrap || packages+=(debootstrap)
    have g++ || packages+=(g++)
    have cmake || packages+=(cmake)
fi
if [[ "${1:-}" == "--bench" ]]; then
    have wrk || packages+=(wrk)
fi
[[ ${#packages[@]} -eq 0 ]] && exit 0

if ! command -v apt-get >/dev/null 2>&1; then
    echo "missing: ${packages[*]}; install them with your package manager (e.g. brew install ${packages[*]})" >&2
    exit 1
fi
sudo=()
if [[ "$(id -u)" -ne 0 ]]; then
    command -v sudo >/dev/null 2>&1 || { echo "missing: ${packages[*]}; run as root or install sudo" >&2; exit 1; }
    sudo=(sudo)
fi
echo "installing ${packages[*]} with apt-get"
# policy-rc.d exit 101: the package must not start a system nginx on port 80.
policy=/usr/sbin/policy-rc.d
created_policy=0
if [[ ! -e "$policy" ]]; then
    printf '#!/bin/sh\nexit 101\n' | "${sudo[@]}" tee "$policy" >/dev/null
    "${sudo[@]}" chmod +x "$policy"
    created_policy=1
fi
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
[[ "$created_policy" -eq 1 ]] && "${sudo[@]}" rm -f "$policy"
exit 0
