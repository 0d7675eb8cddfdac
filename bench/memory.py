"""What a process has used: its peak memory (VmHWM, which a benchmark restarts from the current
RSS) and its CPU time, all its threads together (Linux /proc)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

_CLOCK_TICKS_PER_S = os.sysconf("SC_CLK_TCK")


def reset_peak_rss(pid: int) -> None:
    """Start the process's VmHWM afresh from its current RSS (Linux: clear_refs, value 5)."""
    Path(f"/proc/{pid}/clear_refs").write_text("5")


def peak_rss_mb(pid: int) -> float:
    """The process's high-water mark of resident memory (Linux: VmHWM)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmHWM for process {pid}")


def cpu_seconds(pid: int) -> float:
    """User and system CPU time of the process so far, every thread included."""
    # The fields after the command name, which may itself contain spaces and parentheses.
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    user_ticks, system_ticks = int(fields[11]), int(fields[12])  # utime, stime: fields 14 and 15
    return (user_ticks + system_ticks) / _CLOCK_TICKS_PER_S


def machine_cpu_seconds() -> float:
    """CPU time every core of the machine has spent busy (neither idle nor waiting for I/O)."""
    fields = [int(field) for field in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle, iowait = fields[3], fields[4]
    return (sum(fields[:8]) - idle - iowait) / _CLOCK_TICKS_PER_S  # guest time is inside user time


def child_pids(pid: int) -> set[int]:
    """The process's children, whichever of its threads started them."""
    tasks = Path(f"/proc/{pid}/task")
    return {int(child) for task in tasks.iterdir() for child in (task / "children").read_text().split()}


class CpuMeter:
    """The CPU time each of some processes spent from the meter's making on, and the rest of
    the machine meanwhile (the benchmark driver, the image server, anything else)."""

    def __init__(self, pids: Mapping[str, int]) -> None:
        self._pids = dict(pids)
        self._machine = machine_cpu_seconds()
        self._before = {name: cpu_seconds(pid) for name, pid in self._pids.items()}

    def spent(self) -> dict[str, float]:
        spent = {name: cpu_seconds(pid) - self._before[name] for name, pid in self._pids.items()}
        spent["everything else"] = machine_cpu_seconds() - self._machine - sum(spent.values())
        return spent
