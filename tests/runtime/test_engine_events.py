"""Events: declared fields, extra fields, defaults, Start/Stop events."""

from __future__ import annotations

import pickle

import pytest

from runtime import Event, StartEvent, StopEvent


class Query(Event):
    text: str
    top_k: int = 3
    tags: list = []  # noqa: RUF012 - the event copies mutable defaults per instance
    source: str = "web"


def test_declared_fields_defaults_and_extras():
    ev = Query(text="q", lang="en")
    assert (ev.text, ev.top_k, ev.source, ev.tags) == ("q", 3, "web", [])
    assert ev.lang == "en"
    assert ev.get("lang") == "en"
    assert ev["lang"] == "en"
    assert ev.get("text") == "q"
    assert ev.get("missing", 7) == 7
    assert "lang" in ev and "text" not in ev  # membership looks at the extra fields
    assert dict(ev.items()) == {"lang": "en"}


def test_mutable_defaults_are_not_shared():
    a, b = Query(text="a"), Query(text="b")
    a.tags.append(1)
    assert b.tags == []


def test_pydantic_field_defaults_are_honoured():
    pydantic = pytest.importorskip("pydantic")

    class Scored(Event):
        seen: list = pydantic.Field(default_factory=list)
        source: str = pydantic.Field(default="web")
        required: int = pydantic.Field()

    a, b = Scored(required=1), Scored(required=2)
    a.seen.append(1)
    assert (a.seen, b.seen, a.source, b.required) == ([1], [], "web", 2)
    with pytest.raises(TypeError, match="missing required field 'required'"):
        Scored()


def test_missing_required_field_is_a_clear_error():
    with pytest.raises(TypeError, match="Query\\(\\) missing required field 'text'"):
        Query()


def test_unknown_attribute_raises_attribute_error():
    ev = Query(text="q")
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        _ = ev.nope


def test_setting_an_unknown_attribute_stores_an_extra_field():
    ev = Query(text="q")
    ev.score = 0.5
    ev.top_k = 9
    assert ev.get("score") == 0.5 and ev.top_k == 9 and "top_k" not in ev


def test_equality_repr_and_pickle():
    ev = Query(text="q", lang="en")
    assert ev == Query(text="q", lang="en")
    assert ev != Query(text="q", lang="fr")
    assert repr(ev) == "Query(text='q', top_k=3, tags=[], source='web', lang='en')"
    assert pickle.loads(pickle.dumps(ev)) == ev


def test_start_event_takes_any_keywords():
    ev = StartEvent(topic="pirates", n=2)
    assert ev.topic == "pirates" and ev.get("n") == 2


def test_stop_event_result_and_subclass_fields():
    class Done(StopEvent):
        answer: str

    assert StopEvent(result={"a": 1}).result == {"a": 1}
    assert str(StopEvent(result=42)) == "42"
    done = Done(answer="yes")
    assert done.answer == "yes" and done.result is None
    assert StopEvent(result=1) == StopEvent(result=1) and StopEvent(result=1) != StopEvent(result=2)
    assert pickle.loads(pickle.dumps(StopEvent(result=[1]))).result == [1]


def test_a_stop_event_subclass_may_annotate_result():
    class Answer(StopEvent):
        result: str
        confidence: float = 1.0

    answer = Answer(result="42", confidence=0.5)
    assert (answer.result, answer.confidence) == ("42", 0.5)
