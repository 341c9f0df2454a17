"""What a bad payload or an unserializable value gives: ContextSerdeError from
Context.from_dict, ValueError from to_dict and the serializers; and the serializers and the
state store's own to_dict/from_dict on good values."""

import json

from pydantic import BaseModel

from workflows import Context, Workflow, step
from workflows.context.serializers import JsonSerializer, PickleSerializer
from workflows.context.state_store import DictState, InMemoryStateStore
from workflows.errors import ContextSerdeError
from workflows.events import Event, HumanResponseEvent, InputRequiredEvent, StartEvent, StopEvent


class Handle:
    def __init__(self, name):
        self.name = name

    def __str__(self):
        return f"Handle({self.name})"


class Ask(Workflow):
    @step
    async def ask(self, ev: StartEvent) -> InputRequiredEvent:
        return InputRequiredEvent(prefix="?")

    @step
    async def answer(self, ev: HumanResponseEvent) -> StopEvent:
        return StopEvent(result=ev.response)


class Profile(BaseModel):
    name: str = "ada"
    langs: list[str] = []


class Ping(Event):
    n: int


def plain(value):
    """Events as data: the two engines' event classes never compare equal to each other."""
    if isinstance(value, Event):
        return [type(value).__name__, value.model_dump()]
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def outcome(fn):
    try:
        value = fn()
    except ContextSerdeError:
        return "ContextSerdeError"
    except ValueError as exc:
        return ["ValueError", type(exc).__name__]
    return ["ok", type(value).__name__]


async def main():
    wf = Ask()
    bad_payloads = {
        "newer_version": {"version": 99},
        "workers_not_a_dict": {"version": 2, "workers": 5},
        "state_not_a_dict": {"version": 2, "state": "garbage"},
        "event_not_json": {"version": 2, "is_running": True, "workers": {"answer": {"queue": [{"event": "{broken"}]}}},
    }
    out = {name: outcome(lambda data=data: Context.from_dict(wf, data)) for name, data in bad_payloads.items()}

    ctx = Context(wf)
    await ctx.store.set("handle", Handle("db"))
    try:
        ctx.to_dict()
    except ValueError as exc:
        out["unserializable"] = ["ValueError", str(exc).replace(__name__, "<scenario>")]
    restored = Context.from_dict(wf, json.loads(json.dumps(ctx.to_dict(serializer=PickleSerializer()))),
                                 serializer=PickleSerializer())
    out["pickled_handle"] = str(await restored.store.get("handle"))

    json_ser, pickle_ser = JsonSerializer(), PickleSerializer()
    out["serializers"] = {
        "json_value": json_ser.deserialize(json_ser.serialize({"a": [1, "x", None], "ping": Ping(n=3)})),
        "json_object": outcome(lambda: json_ser.serialize(Handle("x"))),
        "json_broken": outcome(lambda: json_ser.deserialize("{broken")),
        "pickle_object": str(pickle_ser.deserialize(pickle_ser.serialize(Handle("y")))),
        "pickle_reads_json": pickle_ser.deserialize(json_ser.serialize({"k": Ping(n=1)})),
        "model_payload": json.loads(json_ser.serialize(Ping(n=2)))["value"],
    }

    store = InMemoryStateStore(DictState())
    await store.set("user.name", "ada")
    await store.set("ping", Ping(n=4))
    saved = store.to_dict(JsonSerializer())
    back = InMemoryStateStore.from_dict(json.loads(json.dumps(saved)), JsonSerializer())
    typed = InMemoryStateStore(Profile(langs=["en"]))
    typed_back = InMemoryStateStore.from_dict(typed.to_dict(PickleSerializer()), PickleSerializer())
    out["store"] = {
        "dict_meta": [saved["store_type"], saved["state_type"], sorted(saved["state_data"]["_data"])],
        "dict_back": [await back.get("user.name"), await back.get("ping")],
        "typed_back": (await typed_back.get_state()).model_dump(),
        "empty": type(await InMemoryStateStore.from_dict({}, JsonSerializer()).get_state()).__name__,
        "foreign_store": outcome(lambda: InMemoryStateStore.from_dict({"store_type": "redis"}, JsonSerializer())),
        "bad_state_data": outcome(lambda: InMemoryStateStore.from_dict({"state_data": 5}, JsonSerializer())),
    }
    return plain(out)
