"""Events are pydantic models: typed fields, validation, JSON, schema, copies, extras."""

from pydantic import BaseModel, Field, PrivateAttr, ValidationError

from workflows.events import Event, StartEvent, StopEvent


class Retrieved(Event):
    query: str
    top_k: int = 3
    scores: list[float] = Field(default_factory=list)
    _cursor: int = PrivateAttr(default=0)


class Answer(StopEvent):
    text: str


def errors_of(build):
    try:
        build()
    except ValidationError as exc:
        return [(e["loc"], e["type"]) for e in exc.errors()]
    return "no error"


async def main():
    ev = Retrieved(query="ships", top_k="5", source="web", _cursor=7)
    record = {
        "is_model": isinstance(ev, BaseModel),
        "fields": [ev.query, ev.top_k, ev.scores, ev._cursor],
        "extras": [ev.source, ev["source"], ev.get("source"), ev.get("missing", "dflt"), "source" in ev, len(ev)],
        "mapping": [list(ev), list(ev.keys()), list(ev.values()), list(ev.items()), ev.to_dict()],
        "dump": ev.model_dump(),
        "json": ev.model_dump_json(),
        "repr": repr(ev),
        "str": str(ev),
        "model_fields": list(Retrieved.model_fields),
        "schema": Retrieved.model_json_schema(),
        "bad_type": errors_of(lambda: Retrieved(query="q", top_k="many")),
        "missing": errors_of(lambda: Retrieved()),
        "validate": repr(Retrieved.model_validate({"query": "q", "top_k": "2"})),
        "validate_json": repr(Retrieved.model_validate_json('{"query": "q", "scores": [1, 2.5]}')),
        "copy": repr(ev.model_copy(update={"top_k": 9})),
        "copy_keeps_extras": ev.model_copy().get("source"),
        "equal": [ev == Retrieved(query="ships", top_k=5, source="web", _cursor=7), ev == Retrieved(query="other")],
        "truthy": bool(Event()),
    }
    ev.note = "set later"
    ev["tag"] = 1
    record["after_set"] = [ev.note, ev.model_dump()]
    stop = StopEvent(result={"answer": 42})
    record["stop"] = [stop.result, repr(stop), str(stop), stop.model_dump(), stop.model_dump_json()]
    record["empty_stop"] = [repr(StopEvent()), StopEvent().model_dump(), StopEvent().result]
    answer = Answer(text="hi", result=3)
    record["custom_stop"] = [answer.text, answer.result, repr(answer), answer.model_dump()]
    start = StartEvent(topic="sea", n=2)
    record["start"] = [start.topic, start["n"], repr(start), start.model_dump(), start.model_dump_json()]
    try:
        hash(ev)
        record["hashable"] = True
    except TypeError:
        record["hashable"] = False
    return record
