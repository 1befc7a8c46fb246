"""Starting, waiting for and stopping test processes; running client commands."""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO


@dataclass(frozen=True)
class Result:
    """The outcome of one finished command."""

    args: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        """stdout and stderr together, for matching error messages."""
        return self.stdout + self.stderr

    def describe(self) -> str:
        return (
            f"$ {shlex.join(self.args)}\nexit status {self.returncode}\n"
            f"--- stdout ---\n{self.stdout}\n--- stderr ---\n{self.stderr}"
        )


def run(
    args: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    input_text: str | None = None,
    timeout: float = 120.0,
    check: bool = True,
) -> Result:
    """Run a command; with ``check`` an unexpected exit status fails the test with the full output."""
    proc = subprocess.run(
        list(args),
        env=dict(env) if env is not None else None,
        cwd=cwd,
        input=input_text,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    result = Result(tuple(args), proc.returncode, proc.stdout, proc.stderr)
    if check and result.returncode != 0:
        raise AssertionError("command failed:\n" + result.describe())
    return result


def run_fails(
    args: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    input_text: str | None = None,
    timeout: float = 120.0,
) -> Result:
    """Run a command that must fail; fails the test if it succeeds."""
    result = run(args, env=env, cwd=cwd, input_text=input_text, timeout=timeout, check=False)
    if result.returncode == 0:
        raise AssertionError("command unexpectedly succeeded:\n" + result.describe())
    return result


class Background:
    """A long-running process started by a test, with its output captured in log files."""

    def __init__(
        self,
        name: str,
        args: Sequence[str],
        log_dir: Path,
        *,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
    ) -> None:
        self.name = name
        self.args = tuple(args)
        log_dir.mkdir(parents=True, exist_ok=True)
        self.stdout_path = log_dir / f"{name}.stdout.log"
        self.stderr_path = log_dir / f"{name}.stderr.log"
        self._out: IO[bytes] = self.stdout_path.open("wb")
        self._err: IO[bytes] = self.stderr_path.open("wb")
        self.proc = subprocess.Popen(
            list(args),
            env=dict(env) if env is not None else None,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=self._out,
            stderr=self._err,
            start_new_session=True,
        )

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def logs(self) -> str:
        """Everything the process wrote so far (stdout, then stderr)."""
        self._out.flush()
        self._err.flush()
        out = self.stdout_path.read_text(errors="replace")
        err = self.stderr_path.read_text(errors="replace")
        return f"--- {self.name} stdout ---\n{out}\n--- {self.name} stderr ---\n{err}"

    def wait_until(self, ready: Callable[[], bool], *, timeout: float, what: str) -> None:
        """Poll ``ready`` until it returns True; fail with the process output on timeout or exit."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.alive():
                raise RuntimeError(
                    f"{self.name} exited with status {self.proc.returncode} before {what}\n"
                    f"$ {shlex.join(self.args)}\n{self.logs()}"
                )
            try:
                if ready():
                    return
            except Exception:
                pass
            time.sleep(0.1)
        raise RuntimeError(
            f"{self.name} not {what} after {timeout:.0f}s\n$ {shlex.join(self.args)}\n{self.logs()}"
        )

    def stop(self, timeout: float = 15.0) -> None:
        """Stop this process by its PID (SIGTERM, then SIGKILL), never by name."""
        if self.alive():
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                # The process leads its own session (start_new_session), so its group holds
                # only processes this helper started (e.g. server worker processes).
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
        self._out.close()
        self._err.close()
