"""scripts/venv.sh, which run.sh and test.sh call first: the Python that makes .venv is $PYTHON or python3, and a
.venv that cannot work (made by a Python outside 3.9 to 3.13, or by another one than PYTHON asks for) ends in one
sentence saying what to do. Stand-in Pythons (shell scripts that print a version) play the interpreters."""
import os
import shutil
import subprocess

import pytest

from conftest import ROOT


def stand_in(folder, name, version):
    path = folder / name
    path.write_text(f"#!/bin/sh\necho {version}\n")
    path.chmod(0o755)
    return str(path)


@pytest.fixture
def project(tmp_path):
    (tmp_path / "scripts").mkdir()
    shutil.copy(os.path.join(ROOT, "scripts", "venv.sh"), tmp_path / "scripts")
    (tmp_path / "requirements.txt").write_text("numpy\n")
    return tmp_path


def venv_sh(project, python=None):
    env = {k: v for k, v in os.environ.items() if k != "PYTHON"}
    if python:
        env["PYTHON"] = python
    return subprocess.run(["sh", str(project / "scripts" / "venv.sh"), "requirements.txt"], cwd=project, env=env,
                          capture_output=True, text=True, timeout=60)


def made_by(project, version):
    (project / ".venv" / "bin").mkdir(parents=True)
    stand_in(project / ".venv" / "bin", "python", version)


@pytest.mark.parametrize("version", ["3.8", "3.14", "2.7"])
def test_a_venv_made_by_a_python_outside_3_9_to_3_13_is_one_sentence(project, version):
    made_by(project, version)
    result = venv_sh(project)
    assert result.returncode == 1 and result.stderr == (
        f"error: .venv was made by Python {version}; numpy-gpt2 runs on 3.9 to 3.13: delete it (rm -rf .venv) and "
        "run again with PYTHON=python3.12 (say)\n")


def test_a_venv_made_by_another_python_than_asked_is_one_sentence(project, tmp_path_factory):
    made_by(project, "3.11")
    other = stand_in(tmp_path_factory.mktemp("bin"), "python3.13", "3.13")
    result = venv_sh(project, other)
    assert result.returncode == 1 and "was made by Python 3.11, and PYTHON asks for 3.13: delete .venv" in result.stderr


@pytest.mark.parametrize("version", ["3.8", "3.14"])
def test_a_python_outside_3_9_to_3_13_makes_no_venv(project, tmp_path_factory, version):
    python = stand_in(tmp_path_factory.mktemp("bin"), "python3", version)
    result = venv_sh(project, python)
    assert result.returncode == 1 and f"is Python {version}; numpy-gpt2 runs on 3.9 to 3.13" in result.stderr
    assert not (project / ".venv").exists()


def test_a_python_that_does_not_run_is_one_sentence(project):
    result = venv_sh(project, "/nonexistent/python3.12")
    assert result.returncode == 1 and result.stderr.startswith("error: cannot run /nonexistent/python3.12")


def test_a_venv_of_the_python_asked_for_is_used(project, tmp_path_factory):
    made_by(project, "3.12")
    result = venv_sh(project, stand_in(tmp_path_factory.mktemp("bin"), "python3.12", "3.12"))
    assert result.returncode == 0, result.stderr
    assert (project / ".venv" / "installed-requirements").read_text() == "numpy\n"
