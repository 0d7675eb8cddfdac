"""A service's peak memory: its VmHWM (Linux), which a benchmark restarts from the current RSS."""

from __future__ import annotations

from pathlib import Path


def reset_peak_rss(pid: int) -> None:
    """Start the process's VmHWM afresh from its current RSS (Linux: clear_refs, value 5)."""
    Path(f"/proc/{pid}/clear_refs").write_text("5")


def peak_rss_mb(pid: int) -> float:
    """The process's high-water mark of resident memory (Linux: VmHWM)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmHWM for process {pid}")
