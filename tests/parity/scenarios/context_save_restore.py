"""Saving a context with ctx.to_dict() and restoring it with Context.from_dict(): the state
carries over to the next run, through JSON text, with the JSON or the pickle serializer, for
the dict state and for a typed state."""

import json

from pydantic import BaseModel, Field

from workflows import Context, Workflow, step
from workflows.context.serializers import JsonSerializer, PickleSerializer
from workflows.events import Event, StartEvent, StopEvent


class Note(Event):
    text: str
    tags: list[str] = []


class Tally(Workflow):
    @step
    async def count(self, ctx: Context, ev: StartEvent) -> StopEvent:
        n = await ctx.store.get("count", default=0)
        await ctx.store.set("count", n + 1)
        await ctx.store.set("user.name", ev.get("name", "nobody"))
        notes = await ctx.store.get("notes", default=[])
        notes.append(Note(text=f"run {n + 1}", tags=["t"]))
        await ctx.store.set("notes", notes)
        return StopEvent(result=n + 1)


class CounterState(BaseModel):
    count: int = Field(default=0)
    names: list[str] = []


class TypedTally(Workflow):
    @step
    async def start(self, ctx: Context[CounterState], ev: StartEvent) -> StopEvent:
        async with ctx.store.edit_state() as state:
            state.count += 1
            state.names.append(ev.get("name", "?"))
        state = await ctx.store.get_state()
        return StopEvent(result=[type(state).__name__, state.count, list(state.names)])


class Bag(Workflow):
    @step
    async def keep(self, ctx: Context, ev: StartEvent) -> StopEvent:
        seen = await ctx.store.get("seen", default=set())
        seen.add(ev.get("item"))
        await ctx.store.set("seen", seen)
        await ctx.store.set("pair", (1, 2))
        return StopEvent(result=sorted(seen))


async def through_json(ctx, workflow, serializer=None, **kwargs):
    saved = ctx.to_dict(serializer=serializer, **kwargs)
    text = json.dumps(saved)
    return Context.from_dict(workflow, json.loads(text), serializer=serializer), saved


async def main():
    out = {}
    wf = Tally()
    ctx = Context(wf)
    first = await wf.run(ctx=ctx, name="ada")
    restored, saved = await through_json(ctx, wf)
    out["dict_state"] = {
        "first": first,
        "documented_keys": {"version", "state", "is_running", "workers"} <= set(saved),
        "workers": sorted(saved["workers"]),
        "state_keys": sorted(saved["state"]),
        "store_type": saved["state"]["store_type"],
        "state_type": saved["state"]["state_type"],
        "saved_running": saved["is_running"],
        "restored_running": restored.is_running,
        "before_run": [await restored.store.get("count"), await restored.store.get("user.name")],
        "second": await Tally().run(ctx=restored, name="bob"),
        "after": [await restored.store.get("user.name"),
                  [(type(n).__name__, n.text, n.tags) for n in await restored.store.get("notes")]],
    }
    again, _ = await through_json(restored, wf)
    out["dict_state"]["third"] = await wf.run(ctx=again)

    # The pre-run context saves too, and a context without its state restores a fresh store.
    fresh = Context(wf)
    await fresh.store.set("count", 10)
    pre, _ = await through_json(fresh, wf)
    stateless, saved = await through_json(ctx, wf, include_state=False)
    out["pre_run"] = [await wf.run(ctx=pre), saved["state"], await wf.run(ctx=stateless)]

    typed = TypedTally()
    tctx = Context(typed)
    runs = [await typed.run(ctx=tctx, name="a")]
    for serializer in (None, JsonSerializer(), PickleSerializer()):
        tctx, saved = await through_json(tctx, typed, serializer)
        runs.append(await typed.run(ctx=tctx, name=type(serializer).__name__))
    out["typed_state"] = {"runs": runs, "state_type": saved["state"]["state_type"]}

    bag = Bag()
    bctx = Context(bag)
    await bag.run(ctx=bctx, item="x")
    try:
        bctx.to_dict()
        out["json_set"] = "saved"
    except ValueError as exc:
        out["json_set"] = [type(exc).__name__, str(exc)]
    pickled, _ = await through_json(bctx, bag, PickleSerializer())
    out["pickle"] = [await bag.run(ctx=pickled, item="y"), await pickled.store.get("pair")]
    return out
