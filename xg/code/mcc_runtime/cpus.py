"""How many CPUs this process may really use (affinity and cgroup quota)."""

from __future__ import annotations

import math
import os
from pathlib import Path

CGROUP_V2_CPU_MAX = Path("/sys/fs/cgroup/cpu.max")
CGROUP_V1_QUOTA = Path("/sys/fs/cgroup/cpu/cpu.cfs_quota_us")
CGROUP_V1_PERIOD = Path("/sys/fs/cgroup/cpu/cpu.cfs_period_us")


def cgroup_cpu_limit(
    cpu_max: Path = CGROUP_V2_CPU_MAX, quota: Path = CGROUP_V1_QUOTA, period: Path = CGROUP_V1_PERIOD
) -> int | None:
    """CPUs allowed by the cgroup quota, rounded up; None when unlimited or unknown."""
    try:
        fields = cpu_max.read_text().split()
        if fields and fields[0] != "max":
            return max(1, math.ceil(int(fields[0]) / int(fields[1])))
        if fields:
            return None
    except (OSError, ValueError, IndexError):
        pass
    try:
        q, p = int(quota.read_text()), int(period.read_text())
        if q > 0 and p > 0:
            return max(1, math.ceil(q / p))
    except (OSError, ValueError):
        pass
    return None


def usable_cpus() -> int:
    """CPUs in this process's affinity mask, capped by the cgroup CPU quota."""
    try:
        count = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        count = os.cpu_count() or 1
    limit = cgroup_cpu_limit()
    return max(1, min(count, limit) if limit else count)
