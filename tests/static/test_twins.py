"""WFA110 with origin tracking: the twin named in the advice and on the Finding, and method
names that are no evidence on their own."""

from __future__ import annotations

import textwrap

import pytest

from flake8_wfasync.analysis import analyze_source, origins
from flake8_wfasync.knowledge import catalog


def findings(src: str):
    return analyze_source(textwrap.dedent(src), "mod.py")


@pytest.mark.parametrize(("typ", "kind"), [
    ("llama_index.llms.openai.OpenAI", "llm"),
    ("llama_index.llms.anthropic.Anthropic", "llm"),
    ("llama_index.core.llms.LLM", "llm"),
    ("llama_index.core.VectorStoreIndex", "index"),
    ("llama_index.core.indices.base.BaseIndex", "index"),
    ("llama_index.core.query_engine.RetrieverQueryEngine", "query_engine"),
    ("llama_index.core.retrievers.VectorIndexRetriever", "retriever"),
    ("llama_index.core.chat_engine.CondensePlusContextChatEngine", "chat_engine"),
    ("llama_index.embeddings.openai.OpenAIEmbedding", "embedding"),
    ("llama_index.core.extractors.TitleExtractor", "extractor"),
    ("llama_index.core.response_synthesizers.TreeSummarize", "synthesizer"),
    ("llama_index.core.llms.ChatMessage", None),
    ("llama_index.core.Document", None),
    ("openai.OpenAI", None),
])
def test_kinds(typ, kind):
    assert origins.kind_of(typ) == kind


def test_every_kind_method_is_in_the_catalog_with_its_twin():
    for base, _prefixes, twins in catalog.LLAMA_KINDS.values():
        for sync, twin in twins.items():
            entry = catalog.match_qualname(f"{base}.{sync}")
            assert entry is not None and entry.code == "WFA110" and entry.twin == twin
            assert entry.runtime_names, "the runtime must classify the same call"


def test_the_finding_carries_the_twin_and_the_advice_names_it():
    built, f = findings("""\
        from llama_index.core import VectorStoreIndex


        async def ask(docs, q):
            engine = VectorStoreIndex.from_documents(docs).as_query_engine(similarity_top_k=2)
            return engine.query(q)
        """)
    assert (f.code, f.twin, f.qualname) == ("WFA110", "aquery",
                                            "llama_index.core.base.base_query_engine.BaseQueryEngine.query")
    assert f.advice == "use await engine.aquery(q)"
    # Building the index embeds the documents: no full twin, so the build goes to a thread.
    assert (built.line, built.code, built.twin) == (5, "WFA110", None)
    assert built.advice == "use await asyncio.to_thread(VectorStoreIndex.from_documents, docs)"


def test_conversions_follow_the_kind():
    src = """\
        from llama_index.core import VectorStoreIndex


        async def ask(index: VectorStoreIndex, q):
            index.as_retriever().retrieve(q)
            index.as_retriever().query(q)
            index.as_chat_engine().chat(q)
            index.as_chat_engine().retrieve(q)
            index.query(q)
        """
    # A retriever has no query, a chat engine no retrieve, an index neither.
    assert [(f.line, f.twin) for f in findings(src)] == [(5, "aretrieve"), (7, "achat")]


def test_self_attributes_set_in_init_and_settings():
    src = """\
        from llama_index.core import Settings
        from llama_index.llms.openai import OpenAI


        class Bot:
            def __init__(self):
                self.llm = OpenAI(model="m")
                self.default = Settings.llm

            async def go(self, q):
                self.llm.chat([])
                return self.default.complete(q)
        """
    assert [(f.line, f.twin) for f in findings(src)] == [(11, "achat"), (12, "acomplete")]


def test_sync_sdk_clients_name_the_async_client():
    src = """\
        import boto3
        from anthropic import Anthropic
        from openai import OpenAI


        async def go(q):
            OpenAI().chat.completions.create(model="m", messages=[q])
            Anthropic().messages.create(model="m", max_tokens=1, messages=[q])
            boto3.client("s3").get_object(Bucket="b", Key="k")
        """
    got = findings(src)
    assert [f.line for f in got] == [7, 8, 9]
    assert all(f.code == "WFA110" and f.twin is None for f in got)
    assert got[0].advice.startswith("use openai.AsyncOpenAI")
    assert got[1].advice.startswith("use anthropic.AsyncAnthropic")
    assert got[2].advice.startswith("use aioboto3") and "asyncio.to_thread(" in got[2].advice


def test_names_alone_are_no_evidence():
    src = """\
        import queue

        from llama_index.core import VectorStoreIndex


        async def go(engine, llm, q: queue.Queue, d: dict, index: VectorStoreIndex):
            engine.query("x")
            llm.complete("x")
            d.get("k")
            {}.get("k")
            q.put_nowait(1)
            return index.as_query_engine
        """
    assert findings(src) == []


def test_async_counterparts_are_not_flagged():
    src = """\
        from llama_index.llms.openai import OpenAI
        from openai import AsyncOpenAI


        async def go(q):
            llm = OpenAI(model="m")
            a = await llm.acomplete(q)
            b = await AsyncOpenAI().chat.completions.create(model="m", messages=[q])
            return a, b
        """
    assert findings(src) == []


def test_index_constructors_block_only_when_given_nodes():
    src = """\
        from llama_index.core import VectorStoreIndex
        from llama_index.core.indices.property_graph import PropertyGraphIndex


        async def go(nodes, store, objs, args):
            VectorStoreIndex(nodes)
            PropertyGraphIndex(nodes=nodes)
            VectorStoreIndex(objects=objs)
            VectorStoreIndex(*args)
            VectorStoreIndex([])
            VectorStoreIndex(nodes=(), objects=None)
            VectorStoreIndex(storage_context=store)
            return VectorStoreIndex.from_vector_store(store)
        """
    assert [(f.line, f.code) for f in findings(src)] == [(6, "WFA110"), (7, "WFA110"), (8, "WFA110"), (9, "WFA110")]


def test_ingestion_twins_and_readers():
    src = """\
        from llama_index.core import SimpleDirectoryReader
        from llama_index.core.ingestion import IngestionPipeline, run_transformations


        async def go(path, docs, tfs):
            reader = SimpleDirectoryReader(path)
            reader.load_data()
            IngestionPipeline(transformations=tfs).run(documents=docs)
            run_transformations(docs, tfs)
        """
    got = findings(src)
    assert [(f.line, f.twin) for f in got] == [
        (7, None), (8, "arun"), (9, "llama_index.core.ingestion.arun_transformations")]
    assert got[0].advice == "use await asyncio.to_thread(reader.load_data)"
    assert got[1].advice == "use await IngestionPipeline(transformations=tfs).arun(documents=docs)"
