"""Shared helpers for the course tests: the build script (scripts/tutorials/build.py) as a module."""

import importlib.util
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("course_build", REPO / "scripts" / "tutorials" / "build.py")
build = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(build)
SOURCES = build.sources()
