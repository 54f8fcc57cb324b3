"""The ``imagegate`` command as an operator types it: the default command, ``--version``, ``check``."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import httpx
import pytest

from tests.support.processes import IMAGEGATE, fake_vendor, free_port, running

pytestmark = pytest.mark.e2e


def run(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    clean = {key: value for key, value in os.environ.items() if not key.startswith(("IMAGE_GEN_", "OPENAI_"))}
    return subprocess.run(
        [str(IMAGEGATE), *args], env=clean | env, cwd=cwd, capture_output=True, text=True, timeout=60, check=False
    )


def test_imagegate_alone_serves_on_the_configured_port(tmp_path: Path) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with running([str(IMAGEGATE)], probe_url=f"{base}/health", env={"PORT": str(port)}, cwd=tmp_path):
        assert httpx.get(f"{base}/health", timeout=5).json() == {"status": "ok"}


def test_version_is_printed(tmp_path: Path) -> None:
    done = run(["--version"], {}, tmp_path)
    assert done.returncode == 0 and done.stdout.startswith("imagegate ")


def test_check_prints_the_summary_and_warnings_and_exits_0(tmp_path: Path) -> None:
    done = run(["check"], {"IMAGE_GEN_MODLE_1": "pic"}, tmp_path)
    assert done.returncode == 0, done.stderr
    assert '"models"' in done.stdout and '"demo"' in done.stdout
    assert "warning: IMAGE_GEN_MODLE_1 is not a setting imagegate knows" in done.stdout
    assert done.stdout.rstrip().endswith("configuration ok")


def test_check_exits_2_with_one_line_on_a_configuration_error(tmp_path: Path) -> None:
    done = run(["check"], {"IMAGE_GEN_API_BASE_1": "https://x.example/v1", "IMAGE_GEN_MODEL_1": "pic"}, tmp_path)
    assert done.returncode == 2
    assert done.stderr.startswith("imagegate: configuration error: IMAGE_GEN_API_KEY_1 is missing")


def test_check_probe_says_which_keys_work(tmp_path: Path) -> None:
    with fake_vendor() as vendor:
        env = {
            "IMAGE_GEN_TYPE_1": "openai",
            "IMAGE_GEN_API_BASE_1": f"{vendor}/openai",
            "IMAGE_GEN_MODEL_1": "pic",
            "IMAGE_GEN_API_KEY_1": "dead-key-000000000001,good-key-000000000002",
        }
        done = run(["check", "--probe"], env, tmp_path)
    assert done.returncode == 0, done.stderr
    lines = [line for line in done.stdout.splitlines() if line.startswith("group1 (openai) key")]
    assert len(lines) == 2
    assert lines[0].endswith("refused (HTTP 401)") and lines[1].endswith("works")
    assert "dead-key" not in done.stdout and "good-key" not in done.stdout  # fingerprints only
