"""The shoplab command line and the native stack it drives."""

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
