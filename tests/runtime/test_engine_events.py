"""Events: pydantic models with declared fields, extra fields, Start/Stop and termination events."""

from __future__ import annotations

import json
import pickle
from datetime import datetime, timezone

import pytest
from pydantic import BaseModel, Field, PrivateAttr, ValidationError

from runtime import (
    Event,
    StartEvent,
    StepFailedEvent,
    StopEvent,
    WorkflowCancelledEvent,
    WorkflowFailedEvent,
    WorkflowTimedOutEvent,
)


class Query(Event):
    text: str
    top_k: int = 3
    tags: list = []  # noqa: RUF012 - pydantic copies mutable defaults per instance
    source: str = "web"


def test_declared_fields_are_validated_and_extras_kept_apart():
    ev = Query(text="q", top_k="4", lang="en")
    assert isinstance(ev, BaseModel)
    assert (ev.text, ev.top_k, ev.source, ev.tags) == ("q", 4, "web", [])
    assert (ev.lang, ev.get("lang"), ev["lang"]) == ("en", "en", "en")
    # Mapping access, membership and len look at the extra fields only.
    assert ev.get("text") is None and ev.get("missing", 7) == 7
    assert "lang" in ev and "text" not in ev and len(ev) == 1
    assert dict(ev.items()) == {"lang": "en"} == ev.to_dict()


def test_invalid_fields_raise_pydantic_validation_errors():
    with pytest.raises(ValidationError) as caught:
        Query(top_k="many")
    assert {(e["loc"], e["type"]) for e in caught.value.errors()} == {(("text",), "missing"), (("top_k",), "int_parsing")}


def test_mutable_defaults_are_not_shared():
    a, b = Query(text="a"), Query(text="b")
    a.tags.append(1)
    assert b.tags == []


def test_field_defaults_and_private_attributes():
    class Scored(Event):
        seen: list = Field(default_factory=list)
        required: int = Field(ge=0)
        _cursor: int = PrivateAttr(default=0)

    a, b = Scored(required=1, _cursor=5), Scored(required=2)
    a.seen.append(1)
    assert (a.seen, b.seen, a._cursor, b._cursor) == ([1], [], 5, 0)
    assert "_cursor" not in a.model_dump() and len(a) == 0
    with pytest.raises(ValidationError):
        Scored(required=-1)


def test_unknown_attribute_raises_attribute_error():
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        _ = Query(text="q").nope


def test_setting_an_unknown_attribute_stores_an_extra_field():
    ev = Query(text="q")
    ev.score = 0.5
    ev["rank"] = 1
    ev.top_k = 9
    assert (ev.score, ev.get("rank"), ev.top_k) == (0.5, 1, 9) and "top_k" not in ev


def test_json_round_trip_keeps_extras_under_data():
    ev = Query(text="q", lang="en")
    dumped = ev.model_dump_json()
    assert json.loads(dumped) == {"text": "q", "top_k": 3, "tags": [], "source": "web", "_data": {"lang": "en"}}
    assert Query.model_validate_json('{"text": "r", "top_k": "2"}') == Query(text="r", top_k=2)
    assert Query.model_json_schema()["required"] == ["text"]
    assert ev.model_copy(update={"top_k": 1}).top_k == 1 and ev.model_copy().lang == "en"


def test_equality_repr_and_pickle():
    ev = Query(text="q", lang="en")
    assert ev == Query(text="q", lang="en")
    assert ev != Query(text="q", lang="fr")
    assert repr(ev) == "Query(text='q', top_k=3, tags=[], source='web')"
    assert pickle.loads(pickle.dumps(ev)) == ev
    with pytest.raises(TypeError):
        hash(ev)


def test_an_event_read_for_extras_still_equals_one_never_read():
    read, unread = Query(text="q"), Query(text="q")
    assert read.get("missing") is None and len(read) == 0
    assert read == unread and unread == read
    assert read.model_dump() == unread.model_dump() == {"text": "q", "top_k": 3, "tags": [], "source": "web"}


def test_start_event_takes_any_keywords():
    ev = StartEvent(topic="pirates", n=2)
    assert ev.topic == "pirates" and ev.get("n") == 2
    assert ev.model_dump() == {"_data": {"topic": "pirates", "n": 2}}


def test_stop_event_result_and_subclass_fields():
    class Done(StopEvent):
        answer: str

    stop = StopEvent(result={"a": 1})
    assert stop.result == {"a": 1} and stop.model_dump() == {"result": {"a": 1}}
    assert (str(StopEvent(result=42)), repr(StopEvent(result=42))) == ("42", "StopEvent(result=42)")
    done = Done(answer="yes")
    assert done.answer == "yes" and done.result is None and done.model_dump() == {"answer": "yes"}
    assert StopEvent(result=1) == StopEvent(result=1) and StopEvent(result=1) != StopEvent(result=2)
    assert pickle.loads(pickle.dumps(StopEvent(result=[1]))).result == [1]


def test_a_stop_event_subclass_may_compute_its_result():
    class Answer(StopEvent):
        value: int

        def _get_result(self):
            return self.value * 2

    assert Answer(value=21).result == 42


def test_termination_events_are_stop_events_that_dump_to_json():
    timed_out = WorkflowTimedOutEvent(timeout=1.5, active_steps=["a"])
    failed = WorkflowFailedEvent(step_name="s", exception=KeyError("k"), attempts=2, elapsed_seconds=0.5)
    for ev in (timed_out, failed, WorkflowCancelledEvent()):
        assert isinstance(ev, StopEvent)
    assert json.loads(failed.model_dump_json())["exception"] == {
        "exception_type": "builtins.KeyError",
        "exception_message": "'k'",
    }
    assert json.loads(timed_out.model_dump_json()) == {"timeout": 1.5, "active_steps": ["a"]}


def test_step_failed_event_dumps_its_input_event_whole():
    failed = StepFailedEvent(
        step_name="s",
        input_event=Query(text="q"),
        exception=ValueError("v"),
        attempts=1,
        elapsed_seconds=0.1,
        failed_at=datetime(2026, 1, 1, tzinfo=timezone.utc),
    )
    assert json.loads(failed.model_dump_json())["input_event"]["text"] == "q"
