"""What the CPU is, read from /proc/cpuinfo (Linux; elsewhere what ``platform`` knows): named in
benchmark reports and in every run record (``describe``, under the record's ``versions.machine``), and
asked by ``ganbench run --precision bf16``, which is only fast where the CPU computes bf16 matrix
products itself."""
from __future__ import annotations

import platform
from pathlib import Path

CPUINFO = Path("/proc/cpuinfo")


def _cpuinfo() -> str:
    try:
        return CPUINFO.read_text()
    except OSError:
        return ""


def cpu_name() -> str:
    """The CPU's model name."""
    for line in _cpuinfo().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def has_bf16_units() -> bool | None:
    """Whether the CPU has bf16 matrix units (AVX512-BF16 or AMX): without them torch.autocast's bf16
    is emulated and slower than fp32 (results/step_options.md). None where /proc/cpuinfo says nothing."""
    flags = next((line for line in _cpuinfo().splitlines() if line.startswith("flags")), None)
    if flags is None:
        return None
    words = set(flags.split(":", 1)[1].split())
    return bool(words & {"avx512_bf16", "amx_bf16"})


def describe(device=None) -> dict:
    """The machine a record was made on, for its ``versions.machine``: the CPU's model name, the ATen CPU
    capability torch dispatches to (``DEFAULT``, ``AVX2``, ``AVX512``, ...; lowered by the
    ATEN_CPU_CAPABILITY environment variable, and the vectorised kernels' rounding depends on it) and,
    where ``device`` is a CUDA device, the GPU's name. Imports torch."""
    import torch

    info = {"cpu": cpu_name(), "cpu_capability": str(torch.backends.cpu.get_cpu_capability())}
    if device is not None and torch.device(device).type == "cuda":
        info["gpu"] = torch.cuda.get_device_name(torch.device(device))
    return info


def memory_bytes() -> int | None:
    """This machine's physical memory in bytes, or None where the system does not say."""
    import os

    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None
