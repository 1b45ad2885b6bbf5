"""Run the package managers with their output in one log file, shown only when a step fails."""

from __future__ import annotations

import shlex
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from shoplab.runtime.state import default_run_dir
from shoplab.runtime.tools.errors import InstallFailed

TAIL_LINES = 30


def setup_log_path() -> Path:
    """Return the setup log: ``logs/setup.log`` in the run folder (``SHOPLAB_RUN_DIR`` or ``.shoplab/``)."""
    return default_run_dir() / "logs" / "setup.log"


class SetupLog:
    """Append every install command and its output to one file; raise InstallFailed with its tail."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or setup_log_path()
        self._done: set[tuple[str, ...]] = set()

    def run(
        self,
        cmd: Sequence[str],
        *,
        cwd: Path | str | None = None,
        env: Mapping[str, str] | None = None,
        capture: bool = False,
    ) -> str:
        """Run ``cmd`` with its output in the log; return its stdout when ``capture`` (else "").

        Raises InstallFailed naming the command, its exit code, the last lines it wrote and the log.
        """
        self.path.parent.mkdir(parents=True, exist_ok=True)
        shown = shlex.join(str(c) for c in cmd)
        with self.path.open("a", encoding="utf-8", errors="replace") as log:
            log.write(f"\n$ {shown}\n" + (f"  (in {cwd})\n" if cwd else ""))
            log.write(f"  [{time.strftime('%Y-%m-%d %H:%M:%S')}]\n")
            log.flush()
            start = log.tell()
            try:
                proc = subprocess.run(
                    [str(c) for c in cmd],
                    cwd=cwd,
                    env=dict(env) if env is not None else None,
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.PIPE if capture else log,
                    stderr=log if capture else subprocess.STDOUT,
                    text=True,
                    check=False,
                )
            except OSError as exc:
                log.write(f"{exc}\n")
                code = 127
            else:
                if capture and proc.stdout:
                    log.write(proc.stdout)
                code = proc.returncode
        if code != 0:
            raise InstallFailed(self._failure(shown, code, start))
        return proc.stdout if capture else ""

    def run_once(self, cmd: Sequence[str], *, env: Mapping[str, str] | None = None) -> None:
        """Run ``cmd`` unless this log already ran it successfully (``apt-get update`` once per setup)."""
        key = tuple(str(c) for c in cmd)
        if key not in self._done:
            self.run(cmd, env=env)
            self._done.add(key)

    def _failure(self, shown: str, code: int, start: int) -> str:
        with self.path.open("rb") as log:
            log.seek(start)
            output = log.read().decode("utf-8", errors="replace")
        tail = output.splitlines()[-TAIL_LINES:] or ["(no output)"]
        return "\n".join(
            [
                f"`{shown}` failed with exit code {code}; its last {len(tail)} lines of output:",
                *(f"  {line}" for line in tail),
                f"full log: {self.path}",
            ]
        )
