"""Memory a job may still use, checked before an allocation whose size the config sets.

A bound in the schema cannot be static where the size also grows with the data (bootstrap
draws times sentences): ``n_bootstrap: 100000`` is harmless on the demo and tens of GiB on
a large corpus. Such a job estimates what it will hold and refuses with one line naming
the config key, where NumPy would say "Unable to allocate 216. GiB" and name nothing.
"""

from __future__ import annotations

import os
from pathlib import Path

from readalike.core.outputs import format_bytes

#: cgroup v2 limit of this process' group (a Slurm job's memory, a container's)
_CGROUP_LIMIT = Path("/sys/fs/cgroup/memory.max")


def available_memory() -> int | None:
    """Bytes this process may still allocate, or None where the system does not say.

    The kernel's ``MemAvailable`` (free memory plus caches it can drop), capped by the
    cgroup v2 limit where one is set: on a cluster node the job's limit, not the node's
    memory, is what an allocation runs into.
    """
    found = []
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                found.append(int(line.split()[1]) * 1024)  # kB
    except (OSError, ValueError, IndexError):
        pass
    try:
        limit = _CGROUP_LIMIT.read_text().strip()
        if limit != "max":
            found.append(int(limit))
    except (OSError, ValueError):
        pass
    if not found:
        try:
            found.append(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
        except (OSError, ValueError):
            return None
    return min(found)


def check_memory(needed: int, what: str) -> None:
    """Raise one ``ValueError`` saying ``what`` needs ``needed`` bytes, if more than available.

    ``what`` starts with the config key that sets the size, e.g.
    ``"analysis.statistics.n_bootstrap: 1000000 draws of 148 sentences"``.
    """
    available = available_memory()
    if available is not None and needed > available:
        raise ValueError(
            f"{what} need about {format_bytes(needed)} of memory, {format_bytes(available)} "
            "available; lower it"
        )
