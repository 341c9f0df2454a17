"""The runtime package as users and pytest meet it: its public names, and a plugin package
called ``runtime.pytest`` that never stands in for the real pytest."""

from __future__ import annotations

import importlib.metadata
import sys
from pathlib import Path

import pytest

import runtime
import runtime.pytest.plugin

PACKAGE_DIR = Path(runtime.__file__).parent


def test_the_plugin_package_does_not_shadow_pytest():
    real = sys.modules["pytest"]
    assert runtime.pytest.plugin.pytest is real
    assert not Path(real.__file__).resolve().is_relative_to(PACKAGE_DIR.resolve())
    assert callable(real.main)


def test_the_entry_point_names_the_plugin_module():
    [entry] = [e for e in importlib.metadata.entry_points(group="pytest11") if e.name == "wfasync"]
    assert entry.value == "runtime.pytest.plugin"
    assert entry.load() is runtime.pytest.plugin


@pytest.mark.parametrize(
    "name",
    ["Workflow", "step", "Context", "Event", "StartEvent", "StopEvent", "BlockingDetector",
     "BlockingCallWarning", "BlockingReport", "WorkflowHandler", "WorkflowTimeoutError"],
)
def test_public_names_come_from_the_package(name):
    assert name in runtime.__all__
    assert getattr(runtime, name).__module__.startswith("runtime.")


def test_the_detector_is_the_one_the_engine_attaches():
    from runtime.detect.detector import BlockingDetector

    assert runtime.BlockingDetector is BlockingDetector
