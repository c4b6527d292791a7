"""The regression corpus of malformed inputs (tests/data/bad/): every file gets its expected
``file:line`` error, no traceback, within 2 s of CPU and 200 MB of memory, through
``simharness validate``, ``simharness run``, ``simharness card info`` and pytest collection.

Each command runs in a child process forked from a driver that has already imported the harness
(run as ``python test_bad_inputs.py``): the child gets an address-space limit of what it holds
plus 200 MB and a CPU limit, and reports its CPU time; the driver kills a child that outlives a
wall-clock bound, so a hang is a failure, not a stuck test run.
"""

from __future__ import annotations

import json
import os
import resource
import select
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BAD = ROOT / "tests" / "data" / "bad"
CPU_SECONDS = 2.0
MEMORY_BYTES = 200 * 1024 * 1024
WALL_SECONDS = 60.0  # only against a hang: a loaded machine may be slow to schedule the child


def _manifest() -> dict[str, object]:
    import yaml

    return yaml.safe_load((BAD / "expected.yaml").read_text(encoding="utf-8"))


# --------------------------------------------------------------------------- the driver


def _address_space() -> int:
    with open("/proc/self/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmSize")


def _child(argv: list[str], out_fd: int, report_fd: int) -> None:
    os.dup2(out_fd, 1)
    os.dup2(out_fd, 2)
    resource.setrlimit(resource.RLIMIT_AS, (_address_space() + MEMORY_BYTES,) * 2)
    used = resource.getrusage(resource.RUSAGE_SELF)
    limit = int(used.ru_utime + used.ru_stime + CPU_SECONDS * 5) + 1
    resource.setrlimit(resource.RLIMIT_CPU, (limit, limit))
    from harness.cli.main import main

    start = time.process_time()
    try:
        code = main(argv)
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    except BaseException:  # noqa: BLE001 - reported as a traceback, which the test refuses
        import traceback

        traceback.print_exc()
        code = 99
    sys.stdout.flush()
    sys.stderr.flush()
    os.write(report_fd, json.dumps({"code": code, "cpu": time.process_time() - start}).encode())
    os._exit(0)


def _run_bounded(argv: list[str]) -> dict[str, object]:
    """One CLI command in a forked child under the bounds; its exit code, output and CPU time."""
    with tempfile.TemporaryFile() as out:
        report_r, report_w = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(report_r)
            try:
                _child(argv, out.fileno(), report_w)
            finally:
                os._exit(98)
        os.close(report_w)
        deadline = time.monotonic() + WALL_SECONDS
        chunks = []
        while True:
            ready, _, _ = select.select([report_r], [], [], max(0.0, deadline - time.monotonic()))
            if not ready:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                os.close(report_r)
                return {"argv": argv, "hung": True, "output": "", "code": None, "cpu": None}
            data = os.read(report_r, 65536)
            if not data:
                break
            chunks.append(data)
        os.close(report_r)
        _, status = os.waitpid(pid, 0)
        out.seek(0)
        result = json.loads(b"".join(chunks)) if chunks else {"code": None, "cpu": None}
        result.update(argv=argv, hung=False, status=status,
                      output=out.read().decode("utf-8", "replace"))
        return result


def _drive(commands: list[list[str]]) -> None:
    """Warm the caches every child shares (catalogue, operators, world), then run each command."""
    from harness.cli.main import main

    with open(os.devnull, "w") as null:
        saved = os.dup(1)
        os.dup2(null.fileno(), 1)
        try:
            main(["validate", str(ROOT / "scenarios")])
        finally:
            os.dup2(saved, 1)
    for argv in commands:
        print(json.dumps(_run_bounded(argv)), flush=True)


def _env() -> dict[str, str]:
    """The environment of a child interpreter: it imports the harness under test (this checkout),
    whatever checkout the environment's editable install points at."""
    path = [str(ROOT), *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(path)}


def run_all(commands: list[list[str]], cwd: Path) -> list[dict[str, object]]:
    """Run ``commands`` through the driver in a fresh interpreter (cwd ``cwd``)."""
    proc = subprocess.run([sys.executable, __file__, json.dumps(commands)], cwd=cwd, capture_output=True,
                          text=True, timeout=WALL_SECONDS * (len(commands) + 2), check=False, env=_env())
    assert proc.returncode == 0, proc.stderr[-2000:]
    return [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]


# --------------------------------------------------------------------------- checks


def _first_error(output: str) -> str | None:
    return next((ln[len("error: "):] for ln in output.splitlines() if ln.startswith("error: ")), None)


def _problems(result: dict[str, object], expected: str | None) -> list[str]:
    """What is wrong with one command's result; ``expected`` None (a defect not caught yet):
    only the bounds and the absence of a traceback are checked."""
    out = []
    text = str(result["output"])
    if result["hung"]:
        return [f"no answer within {WALL_SECONDS:.0f} s"]
    if "Traceback" in text or result["code"] == 99:
        out.append("traceback:\n" + text[-1500:])
    if result["code"] is None or (expected is not None and result["code"] == 0):
        out.append(f"exit code {result['code']} (status {result.get('status')})")
    if result["cpu"] is not None and float(result["cpu"]) > CPU_SECONDS:
        out.append(f"{float(result['cpu']):.2f} s of CPU (bound {CPU_SECONDS} s)")
    if expected is not None:
        got = _first_error(text)
        if got != expected.replace("{here}", str(BAD)):
            out.append(f"first error\n  expected: {expected}\n  got:      {got}")
    return out


def _check(commands: list[list[str]], expected: list[str | None], cwd: Path = BAD) -> None:
    results = run_all(commands, cwd)
    assert len(results) == len(commands)
    failures = []
    for argv, want, result in zip(commands, expected, results, strict=True):
        for problem in _problems(result, want):
            failures.append(f"{' '.join(argv)}: {problem}")
    assert not failures, f"{len(failures)} problem(s):\n" + "\n".join(failures)


def _entries(folder: str) -> list[tuple[str, object]]:
    return [(k, v) for k, v in _manifest().items() if k.startswith(folder + "/")]


def test_the_corpus_is_as_large_as_promised():
    files = {str(p.relative_to(BAD)) for d in ("scenario-files", "profiles")
             for p in (BAD / d).glob("*.yaml")}
    assert files == set(_manifest())
    assert len(_entries("scenario-files")) >= 80
    assert len(_entries("profiles")) >= 50


@pytest.mark.parametrize("command", [["validate"], ["run", "-q"]], ids=["validate", "run"])
def test_every_bad_scenario_gets_its_error_within_bounds(command):
    entries = _entries("scenario-files")
    _check([[*command, path] for path, _ in entries],
           [want if isinstance(want, str) else None for _, want in entries])


def test_every_bad_profile_gets_its_error_within_bounds():
    entries = _entries("profiles")
    _check([["card", "info", path] for path, _ in entries],
           [want if isinstance(want, str) else None for _, want in entries])


def test_validate_reports_every_file_of_a_directory_and_goes_on():
    results = run_all([["validate", "scenario-files"]], BAD)
    text = str(results[0]["output"])
    assert "Traceback" not in text
    missed = [k for k, v in _entries("scenario-files") if isinstance(v, str) and f"{k}:" not in text
              and not v.startswith("{here}") and not v.startswith("scenario-files/../")]
    assert not missed
    entries = _entries("scenario-files")
    uncaught = sum(1 for _, v in entries if not isinstance(v, str))  # the xfail entries
    assert text.strip().splitlines()[-1].startswith(f"{uncaught}/{len(entries)} files valid")


def test_files_that_are_not_files_are_refused_without_reading(tmp_path):
    fifo = tmp_path / "pipe.yaml"
    os.mkfifo(fifo)
    (tmp_path / "folder.yaml").mkdir()
    big = tmp_path / "big.yaml"
    big.write_bytes(b"name: big\n# " + b"x" * (1 << 20) + b"\n")
    cases = {
        str(fifo): f"{fifo}: not a regular file (a FIFO, socket or device is not read)",
        "/dev/zero": "/dev/zero: not a regular file (a FIFO, socket or device is not read)",
        str(tmp_path / "folder.yaml"): f"{tmp_path / 'folder.yaml'}: a directory, not a file",
        str(big): f"{big}: too large (more than 1048576 bytes)",
    }
    # (validate searches a directory, whatever its name, for scenario files)
    commands = [[*cmd, path] for path in cases for cmd in (["validate"], ["card", "info"])
                if not (cmd == ["validate"] and path.endswith("folder.yaml"))]
    expected = [cases[argv[-1]] for argv in commands]
    _check(commands, expected, tmp_path)


def test_pytest_collection_reports_each_bad_file_and_collects_the_rest():
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", "-p", "no:xdist",
         "-o", "scenario_dirs=scenario-files", "scenario-files"],
        cwd=BAD, capture_output=True, text=True, timeout=600, check=False, env=_env())
    text = proc.stdout + proc.stderr
    assert "Traceback" not in text and "INTERNALERROR" not in text
    caught = [k for k, v in _entries("scenario-files") if isinstance(v, str)]
    assert f"{len(caught)} errors" in text  # one per bad file; an xfail entry is collected
    assert all(Path(k).stem in text for k in caught)


@pytest.mark.parametrize("path", [
    pytest.param(k, marks=pytest.mark.xfail(reason=v["xfail"], strict=True))
    for k, v in _manifest().items() if isinstance(v, dict)])
def test_defects_not_caught_yet(path):
    command = ["validate"] if path.startswith("scenario-files/") else ["card", "info"]
    result = run_all([[*command, path]], BAD)[0]
    assert not _problems(result, None)
    assert _first_error(str(result["output"])) is not None


if __name__ == "__main__":
    _drive(json.loads(sys.argv[1]))
