"""`docker run`/`docker create` flags as a Docker user meets them, with the real docker CLI: what runs, what is
refused (in moby's words, with docker's exit codes) and when."""
from __future__ import annotations



def names(d) -> set[str]:
    return set(d.docker("ps", "-a", "--format", "{{.Names}}").stdout.split())


# ---------------------------------------------------------------- --security-opt
def test_no_new_privileges_takes_a_boolean_value(daemon):
    def nnp(*opts):
        args = [a for o in opts for a in ("--security-opt", o)]
        out = daemon.docker("run", "--rm", *args, "busybox", "grep", "NoNewPrivs", "/proc/self/status").stdout
        return out.split()[-1]

    assert nnp("no-new-privileges") == "1"
    assert nnp("no-new-privileges=true") == "1"  # what compose and many how-tos write
    assert nnp("no-new-privileges:true") == "1"  # the deprecated separator still works in moby
    assert nnp("no-new-privileges=false") == "0"
    assert nnp("no-new-privileges", "no-new-privileges=false") == "0"  # the last one wins
    bad = daemon.docker("run", "--rm", "--name", "audit-nnp-bad", "--security-opt", "no-new-privileges=maybe",
                        "busybox", "true", check=False)
    assert bad.returncode == 125
    assert 'Error response from daemon: invalid --security-opt 2: "no-new-privileges=maybe"' in bad.stderr
