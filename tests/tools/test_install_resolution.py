"""A fresh machine whose pip knows only PyPI can install the course (issue 11).

* ``requirements/lock.txt`` is exactly what ``make lock`` makes from the ranges in
  ``pyproject.toml`` (one source of pins), and holds no CUDA-only package and no local
  build label such as ``+cpu``, which only PyTorch's own index serves.
* The lock resolves, with uv against PyPI, for Linux x86-64 and macOS arm64 on Python
  3.11, 3.12 and 3.13: every package each platform needs is in the lock, at the locked
  version, with a wheel for that platform.
* pip's own resolver, with every local pip setting ignored (``--isolated`` and
  ``PIP_CONFIG_FILE=/dev/null``), resolves ``make install``'s command from PyPI alone.
* The lines a Colab reader runs first (``book/intro.md``) resolve too.

Only PyPI's index and wheels' metadata are read (uv, and pip's ``fast-deps``, fetch it
with HTTP range requests): no wheel is downloaded whole. Without PyPI the module is
skipped.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
LOCK = REPO / "requirements" / "lock.txt"
EXCLUDES = REPO / "requirements" / "lock-excludes.txt"
DATA = REPO / "requirements" / "data.txt"
PYPI = "https://pypi.org/simple"
UV = Path(sys.executable).with_name("uv")
# uv's names for the two platforms; PyTorch's macOS wheels need macOS 14 (set below)
PLATFORMS = {
    "linux-x86_64": "x86_64-manylinux_2_28",
    "macos-arm64": "aarch64-apple-darwin",
}
PYTHONS = ["3.11", "3.12", "3.13"]
COLAB_PYTHON = "3.12"

pytestmark = pytest.mark.slow


def _pypi_reachable() -> bool:
    try:
        with urllib.request.urlopen(f"{PYPI}/pip/", timeout=15) as reply:
            return reply.status == 200
    except OSError:
        return False


@pytest.fixture(scope="module", autouse=True)
def _needs_pypi():
    if not _pypi_reachable():
        pytest.skip("PyPI cannot be reached: the install resolution needs its index")
    if not UV.exists():
        pytest.fail(f"no uv at {UV}: `make install` installs it (the test extra)")


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _pins(text: str) -> dict[str, set[str]]:
    """``name -> {versions}`` from a requirements file's ``name==version`` lines."""
    pins: dict[str, set[str]] = {}
    for line in text.splitlines():
        match = re.match(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;]+)", line)
        if match:
            pins.setdefault(_norm(match[1]), set()).add(match[2])
    return pins


def _excluded() -> set[str]:
    return {_norm(line.strip()) for line in EXCLUDES.read_text().splitlines()
            if line.strip() and not line.startswith("#")}


def _clean_env() -> dict[str, str]:
    """The environment of a fresh machine: no pip or uv settings, no config files."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "UV_"))}
    env.update(PIP_CONFIG_FILE=os.devnull, PIP_DISABLE_PIP_VERSION_CHECK="1",
               MACOSX_DEPLOYMENT_TARGET="14.0", UV_NO_PROGRESS="1")
    return env


def _run(cmd: list[str], timeout: int = 240, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, cwd=REPO, env=_clean_env(), capture_output=True,
                          text=True, timeout=timeout, **kwargs)


def _uv_compile(*args: str) -> subprocess.CompletedProcess:
    # --python: the interpreter uv may use to build metadata; the target is set by
    # --python-platform and --python-version: no other Python is looked for
    return _run([str(UV), "pip", "compile", "--no-config", "--no-python-downloads",
                 "--python", sys.executable, "--index-url", PYPI, "--no-header",
                 "--no-annotate", "--quiet", *args])


def _pip_command(report: Path, *args: str) -> list[str]:
    """pip's own resolver on this Python, with no local settings, PyPI only."""
    return [sys.executable, "-m", "pip", "--isolated", "install", "--dry-run",
            "--ignore-installed", "--use-feature=fast-deps", "--index-url", PYPI,
            "--report", str(report), *args]


def _pip_dry_run(tmp_path: Path, *args: str) -> tuple[subprocess.CompletedProcess,
                                                      dict]:
    report = tmp_path / "pip-report.json"
    done = _run(_pip_command(report, *args), timeout=400)
    return done, json.loads(report.read_text()) if report.exists() else {}


@pytest.fixture(scope="module")
def make_install_dry_run(tmp_path_factory, _needs_pypi):
    """pip resolving ``make install``'s main step, started at once in the background: it
    reads the metadata of ~185 wheels one after another (about a minute) while the other
    tests run."""
    report = tmp_path_factory.mktemp("pip") / "report.json"
    process = subprocess.Popen(_pip_command(report, "-c", str(LOCK), "-e", ".[all]"),
                               cwd=REPO, env=_clean_env(), stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
    yield process, report
    if process.poll() is None:
        process.kill()
        process.communicate()


@pytest.fixture(scope="module", autouse=True)
def _start_pip_first(make_install_dry_run):
    return make_install_dry_run


def test_lock_is_what_make_lock_makes(tmp_path):
    text = LOCK.read_text()
    pins = _pins(text)
    assert "torch" in pins and "numpy" in pins, "the lock pins the dependencies"
    labelled = sorted(f"{n}=={v}" for n, vs in pins.items() for v in vs if "+" in v)
    assert not labelled, f"local build labels are not on PyPI: {labelled}"
    assert not set(pins) & _excluded(), "CUDA-only packages belong out of the lock"
    copy = tmp_path / "lock.txt"
    shutil.copy(LOCK, copy)
    done = _run(["make", "--no-print-directory", "lock", f"LOCK={copy}"])
    assert done.returncode == 0, done.stdout + done.stderr
    assert copy.read_text() == text, (
        "requirements/lock.txt is not what `make lock` makes from pyproject.toml: run "
        "`make lock` and commit the result")


def test_binder_ci_and_docker_install_from_the_lock():
    for path in ["binder/postBuild", ".github/workflows/publish.yml", "deploy/Dockerfile",
                 "Makefile"]:
        text = (REPO / path).read_text()
        assert "requirements/lock.txt" in text or "$(LOCK)" in text, path
        assert "constraints.txt" not in text, f"{path} still names the old constraints"
    assert not (REPO / "requirements" / "constraints.txt").exists()


@pytest.mark.parametrize("python", PYTHONS)
@pytest.mark.parametrize("platform", sorted(PLATFORMS))
def test_lock_resolves_on(platform, python):
    done = _uv_compile("pyproject.toml", "--all-extras", "-c", str(LOCK),
                       "--excludes", str(EXCLUDES), "--only-binary", ":all:",
                       "--python-platform", PLATFORMS[platform],
                       "--python-version", python)
    assert done.returncode == 0, f"{platform}, Python {python}:\n{done.stderr}"
    locked, resolved = _pins(LOCK.read_text()), _pins(done.stdout)
    assert "torch" in resolved and len(resolved) > 100
    outside = sorted(f"{n}=={v}" for n, vs in resolved.items() for v in vs
                     if v not in locked.get(n, set()))
    assert not outside, f"{platform}, Python {python}, not in the lock: {outside}"


def _colab_lines() -> list[str]:
    text = (REPO / "book" / "intro.md").read_text()
    lines = [line.strip() for line in text.splitlines()
             if line.strip().startswith("%pip ")]
    assert len(lines) == 2, f"intro.md should give Colab's two %pip lines, not {lines}"
    return lines


def test_colab_lines_resolve(tmp_path):
    package_line, data_line = _colab_lines()
    import yaml

    url = yaml.safe_load((REPO / "_config.yml").read_text())["repository"]["url"]
    assert f"@ git+{url}\"" in package_line, (package_line, url)
    assert "--no-deps" in data_line
    # the data packages at the versions `make install` installs
    assert _pins(data_line.replace(" ", "\n")) == _pins(DATA.read_text())
    # this checkout stands in for the repository the line names; Colab runs Linux x86-64
    requirement = re.search(r'"(.+)"', package_line)[1]
    requirement = requirement.replace(f"git+{url}", REPO.as_uri())
    requirements = tmp_path / "colab.txt"
    requirements.write_text(requirement + "\n")
    done = _uv_compile(str(requirements), "--python-version", COLAB_PYTHON,
                       "--python-platform", PLATFORMS["linux-x86_64"])
    assert done.returncode == 0, done.stderr
    assert {"torch", "numpy", "matplotlib", "myst-nb"} <= set(_pins(done.stdout))
    # the data line exactly as %pip runs it, by pip itself
    done, report = _pip_dry_run(tmp_path, *data_line.split()[2:])
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert _pins("\n".join(f"{i['metadata']['name']}=={i['metadata']['version']}"
                           for i in report["install"])) == _pins(DATA.read_text())


def test_pip_resolves_make_install_from_pypi_alone(make_install_dry_run):
    """``make install``'s main step, with PyPI's torch (``TORCH_INDEX=`` empty)."""
    process, report_path = make_install_dry_run
    output, _ = process.communicate(timeout=400)
    assert process.returncode == 0, output[-5000:]
    report = json.loads(report_path.read_text())
    locked = _pins(LOCK.read_text())
    installs = {_norm(item["metadata"]["name"]): item for item in report["install"]}
    assert installs["torch"]["metadata"]["version"] in locked["torch"]
    for name, item in installs.items():
        url = item["download_info"]["url"]
        if name == "lstm-course":
            assert url.startswith("file://")
            continue
        assert url.startswith("https://files.pythonhosted.org/"), f"{name}: {url}"
        if name not in _excluded():
            assert item["metadata"]["version"] in locked.get(name, set()), (
                f"pip picked {name}=={item['metadata']['version']}, the lock has "
                f"{locked.get(name)}")
    assert len(installs) > 150
