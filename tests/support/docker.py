"""A Docker engine for the image tests, and the base images the generated Dockerfiles name.

The engine: Debian's ``docker.io`` (installed by scripts/install-system-deps.sh), ``dockerd`` started here
when none answers (as root; no systemd) and stopped afterwards.

Base images: pulled when a registry answers; where none is reachable (these CI machines), a stand-in is made
under the exact ``FROM`` name: a ``debootstrap --variant=minbase bookworm`` root filesystem with Debian's
Python 3.11 and pip (at /usr/local/bin/python3 as in the official image), this machine's extra CA
certificates in its trust store (pip inside a build goes through the same TLS proxy as this machine), then
``docker import``. The stand-in is a test fixture: it is never pushed and never named in a project.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

DOCKER = shutil.which("docker") or "docker"
DEBIAN_MIRROR = "http://deb.debian.org/debian"
STANDIN_PACKAGES = ("python3", "python3-pip", "ca-certificates")
EXTRA_CA_DIR = Path("/usr/local/share/ca-certificates")
PULL_TIMEOUT_S = 30
# The CPU images the tests and bench/image_build build: name -> (tests.support.frameworks case id, the
# DataFrame pipeline of tests.support.tabular, or the tiny chat model of tests.support.llm; the web server).
IMAGES = {
    "sklearn-flask": ("churn-pipeline", "flask"),
    "sklearn-fastapi": ("churn-pipeline", "fastapi"),
    "xgboost-flask": ("xgboost-json-both", "flask"),
    "lightgbm-flask": ("lightgbm-txt-both", "flask"),
    "onnx-flask": ("onnx-onnx-both", "flask"),
    "tensorflow-flask": ("tensorflow-keras-both", "flask"),
    "pytorch-flask": ("pytorch-exported-both", "flask"),
    "transformers-chat": ("tiny-llama", "flask"),
}
ELF_MAGIC = b"\x7fELF"
PACKAGES = re.compile(r"/(site|dist)-packages/")  # where pip puts third-party packages


class DockerUnavailable(RuntimeError):
    """No Docker engine can be had here; the image tests fail with this reason."""


def docker(*args: str, check: bool = True, timeout: float = 900, **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run([DOCKER, *args], capture_output=True, text=True, timeout=timeout, **kwargs)
    if check and result.returncode != 0:
        raise AssertionError(f"docker {' '.join(args[:3])} ... exited {result.returncode}: {result.stderr[-2000:]}")
    return result


def engine_answers() -> bool:
    try:
        return docker("info", check=False, timeout=20).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


class Engine:
    """dockerd started by the tests (None of this when an engine already answers)."""

    def __init__(self, log: Path) -> None:
        self.log = log
        self.process: subprocess.Popen | None = None

    def start(self, seconds: float = 60) -> Engine:
        dockerd = shutil.which("dockerd") or "/usr/sbin/dockerd"
        if not Path(dockerd).exists():
            raise DockerUnavailable("dockerd is not installed: scripts/install-system-deps.sh installs docker.io")
        if os.geteuid() != 0:
            raise DockerUnavailable("no Docker engine answers, and starting dockerd needs root")
        with self.log.open("w") as log:
            self.process = subprocess.Popen([dockerd], stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if engine_answers():
                return self
            if self.process.poll() is not None:
                break
            time.sleep(0.5)
        raise DockerUnavailable(f"dockerd did not answer within {seconds:g} s:\n{self.log.read_text()[-2000:]}")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()


def ensure_engine(log: Path) -> Engine | None:
    """The running engine (None), or one started here."""
    return None if engine_answers() else Engine(log).start()


def image_exists(name: str) -> bool:
    return docker("image", "inspect", name, check=False, timeout=30).returncode == 0


def ensure_base_image(name: str) -> str:
    """``present``, ``pulled`` or ``stand-in``: how ``name`` came to be in the engine."""
    if image_exists(name):
        return "present"
    try:
        if docker("pull", name, check=False, timeout=PULL_TIMEOUT_S).returncode == 0:
            return "pulled"
    except subprocess.TimeoutExpired:
        pass
    build_standin(name)
    return "stand-in"


def build_standin(name: str) -> None:
    """A Debian bookworm root filesystem with Python 3.11, imported as ``name`` (see the module docstring)."""
    if not shutil.which("debootstrap") and not Path("/usr/sbin/debootstrap").exists():
        raise DockerUnavailable(f"{name} cannot be pulled and debootstrap is not installed to make a stand-in")
    with tempfile.TemporaryDirectory(prefix="mcc-standin-") as scratch:
        root = Path(scratch) / "rootfs"
        subprocess.run(
            ["debootstrap", "--variant=minbase", f"--include={','.join(STANDIN_PACKAGES)}", "bookworm", str(root),
             DEBIAN_MIRROR],
            check=True, capture_output=True, timeout=900,
        )  # fmt: skip
        for certificate in EXTRA_CA_DIR.glob("*.crt"):
            shutil.copy(certificate, root / "usr/local/share/ca-certificates" / certificate.name)
        subprocess.run(["chroot", str(root), "update-ca-certificates"], check=True, capture_output=True)
        (root / "usr/lib/python3.11/EXTERNALLY-MANAGED").unlink(missing_ok=True)  # pip installs, as in python:slim
        for link in ("python3", "python"):
            (root / "usr/local/bin" / link).symlink_to("/usr/bin/python3")
        for cache in ("var/lib/apt/lists", "var/cache/apt/archives"):
            for entry in (root / cache).glob("*"):
                if entry.is_file():
                    entry.unlink()
        tar = subprocess.Popen(["tar", "-C", str(root), "-c", "."], stdout=subprocess.PIPE)
        subprocess.run(
            [DOCKER, "import", "--change", "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
             "--change", "ENV LANG=C.UTF-8", "--change", 'CMD ["python3"]', "-", name],
            stdin=tar.stdout, check=True, capture_output=True, timeout=600,
        )  # fmt: skip
        tar.wait()


def remove_repository(repository: str) -> None:
    """Every tag of ``repository`` (do/build tags each build with its own tag besides ``latest``)."""
    images = docker("images", "--quiet", "--filter", f"reference={repository}", check=False).stdout.split()
    if images:
        docker("image", "rm", "--force", *sorted(set(images)), check=False)


def image_megabytes(name: str) -> float:
    return int(docker("image", "inspect", "--format", "{{.Size}}", name).stdout.strip()) / 1e6


def secrets_in_layers(
    image: str, base: str, patterns: dict[str, re.Pattern[bytes]], planted: dict[str, re.Pattern[bytes]]
) -> list[str]:
    """Which secrets occur in ``docker history`` (build arguments, ENV, commands) or in a file of the image's own
    layers (not its base image's), read from ``docker save``'s layer tarballs. ``planted`` (the build
    environment's own values) are looked for everywhere; ``patterns`` (any key or token) everywhere but in the
    installed packages, whose test suites carry public sample tokens (transformers ships the Hub's CI token).
    Compiled libraries (ELF) are skipped: Debian's and the wheels' hold PEM headers and test keys of their own."""
    everything = patterns | planted
    history = docker("history", "--no-trunc", image).stdout.encode()
    found = {what for what, pattern in everything.items() if pattern.search(history)}
    base_layers = len(json.loads(docker("image", "inspect", base).stdout)[0]["RootFS"]["Layers"])
    with tempfile.TemporaryDirectory(prefix="mcc-layers-") as scratch:
        archive = Path(scratch) / "image.tar"
        docker("save", "--output", str(archive), image)
        with tarfile.open(archive) as saved:
            manifest = json.load(saved.extractfile("manifest.json"))
            for layer in manifest[0]["Layers"][base_layers:]:
                with tarfile.open(fileobj=saved.extractfile(layer), mode="r|") as files:
                    for member in files:
                        content = files.extractfile(member).read() if member.isfile() else b""
                        if content and not content.startswith(ELF_MAGIC):
                            packaged = PACKAGES.search(member.name)
                            wanted = planted if packaged else everything
                            found |= {what for what, pattern in wanted.items() if pattern.search(content)}
    return sorted(found)


def unreachable(url: str, timeout: float = 10) -> bool:
    """Whether ``url`` cannot be fetched from here (no name, no route, or a refusal)."""
    import urllib.request

    try:
        urllib.request.urlopen(url, timeout=timeout).close()
    except OSError:
        return True
    return False


class WheelIndex:
    """A stand-in for a package index this machine cannot reach (PyTorch's CPU wheel index, named as the extra
    index by the torch projects' Dockerfiles): the pinned wheels, fetched by this machine's own pip, served by
    ``python3 -m http.server`` in a container from the base image on Docker's default network, in the layout of
    pip's simple index. Projects build against it through do/build's BUILD_EXTRA_INDEX_URL, as a user's own
    mirror would be given. A test fixture, like the stand-in base image."""

    def __init__(self, base_image: str, requirements: list[str], index_url: str) -> None:
        self.base_image, self.requirements, self.index_url = base_image, requirements, index_url
        self.scratch = Path(tempfile.mkdtemp(prefix="mcc-wheel-index-"))
        self.container = ""

    def __enter__(self) -> str:
        for requirement in self.requirements:
            project = re.split(r"[=<>!~\[ ]", requirement, maxsplit=1)[0].lower()
            folder = self.scratch / "simple" / project
            folder.mkdir(parents=True, exist_ok=True)
            subprocess.run(
                [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", "--dest", str(folder),
                 "--extra-index-url", self.index_url, requirement],
                check=True, capture_output=True, timeout=900,
            )  # fmt: skip
        self.scratch.chmod(0o755)
        self.container = docker(
            "run", "--detach", "--rm", "--volume", f"{self.scratch}:/srv:ro", self.base_image,
            "python3", "-u", "-m", "http.server", "8000", "--directory", "/srv",
        ).stdout.strip()  # fmt: skip
        address = docker("inspect", "--format", "{{.NetworkSettings.IPAddress}}", self.container).stdout.strip()
        deadline = time.monotonic() + 30
        while "Serving HTTP" not in docker("logs", self.container, check=False).stdout:
            if time.monotonic() > deadline:
                raise AssertionError(f"the wheel index did not start: {docker('logs', self.container).stderr}")
            time.sleep(0.2)
        return f"http://{address}:8000/simple/"

    def __exit__(self, *exc: object) -> None:
        if self.container:
            docker("rm", "--force", self.container, check=False)
        shutil.rmtree(self.scratch, ignore_errors=True)


@contextlib.contextmanager
def torch_index(catalog, base_image: str) -> Iterator[str | None]:
    """BUILD_EXTRA_INDEX_URL for projects that install the catalog's CPU-only torch: None where PyTorch's index
    answers, else the URL of a WheelIndex serving the pinned wheel."""
    version = catalog.frameworks["pytorch"].versions[catalog.frameworks["pytorch"].default_version]
    if not unreachable(version.extra_index_url):
        yield None
        return
    torch = next(r for r in version.requirements if r.startswith("torch=="))
    with WheelIndex(base_image, [torch], version.extra_index_url) as url:
        yield url
