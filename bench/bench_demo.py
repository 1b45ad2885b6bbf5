"""Time `shoplab demo` from nothing running to the report (aim: under 3 minutes on 2 cores)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench import machine, write_result
from shoplab import REPO_ROOT

AIM_S = 180.0


def main() -> None:
    """Run the demo once on its own ports and run folder; print and write the wall time and its numbers."""
    offset = int(os.environ.get("SHOPLAB_PORT_OFFSET", "0")) + 70
    with tempfile.TemporaryDirectory(prefix="sldemo") as tmp:
        env = {**os.environ, "SHOPLAB_RUN_DIR": f"{tmp}/run", "SHOPLAB_PORT_OFFSET": str(offset),
               "SHOPLAB_REPORTS_DIR": f"{tmp}/reports"}
        started = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "shoplab", "demo"], cwd=REPO_ROOT, env=env,
                              capture_output=True, text=True, check=False)
        elapsed = time.perf_counter() - started
        journals = list(Path(tmp, "reports").glob("*/journal.json"))
        profiles = json.loads(journals[0].read_text())["profiles"] if journals else []
    numbers = {
        p["profile"]: {x["label"]: x["value"] for x in p["probes"]} for p in profiles
    }
    result = {
        "demo_wall_s": round(elapsed, 1),
        "exit_code": proc.returncode,
        "aim_s": AIM_S,
        "probes": numbers,
    }
    path = write_result("demo", result)
    print(f"shoplab demo (stack start, naive + resilient, report, stack stop): {elapsed:.0f} s on "
          f"{machine()['cores']} cores (aim < {AIM_S:.0f} s), exit code {proc.returncode}")
    for profile, values in numbers.items():
        print(f"  {profile}: {values}")
    print(f"written to {path}")
    if proc.returncode != 0:
        raise RuntimeError(f"shoplab demo failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")


if __name__ == "__main__":
    main()
