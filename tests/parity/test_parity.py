"""Each scenario, written once against llama-index-workflows, gives the same outcome on
both engines once its imports name ``runtime``.

The peer is a test dependency (the ``test`` extra pins it): these tests never skip.
"""

from __future__ import annotations

import pytest

from _parity_engines import SCENARIOS, run_scenario, scenario_names, source_for


def test_every_scenario_imports_only_the_peer_public_modules():
    for name in scenario_names():
        text = (SCENARIOS / f"{name}.py").read_text(encoding="utf-8")
        assert "import runtime" not in text and "from runtime" not in text, name
        assert "runtime" in source_for("runtime", text), name


# The peer validates and imports on the loop during its first runs; only the outcome matters here.
@pytest.mark.wfasync_allow_blocking
@pytest.mark.parametrize("name", scenario_names())
def test_same_source_same_outcome(name):
    peer = run_scenario(name, "llama-index-workflows")
    ours = run_scenario(name, "runtime")
    assert peer.result not in (None, [], {}, ""), "a scenario must record something to compare"
    assert ours.result == peer.result
    assert ours.printed == peer.printed
