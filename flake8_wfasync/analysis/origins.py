"""Where a value comes from, for WFA110: which LlamaIndex objects a call builds.

Method names alone are no evidence (a dict has ``get``, a queue ``put``, anything may have
``query``), so the analyzer only flags a sync method with an async twin on a value whose origin
it knows. Resolution (:mod:`flake8_wfasync.analysis.resolve`) tracks values as instance paths
(``"T()"``); this module says which type a LlamaIndex call or annotation yields:

- a class of a kind: ``OpenAI(...)`` from ``llama_index.llms.openai`` is an LLM,
  ``VectorStoreIndex(...)`` an index, ``RetrieverQueryEngine(...)`` a query engine,
  ``TitleExtractor(...)`` an extractor, ``TreeSummarize(...)`` a response synthesizer;
- a class factory of such a class: ``VectorStoreIndex.from_documents(...)``,
  ``RetrieverQueryEngine.from_args(...)``;
- a method that makes another kind: ``index.as_query_engine()``, ``index.as_retriever()``,
  ``index.as_chat_engine()``, ``llm.as_structured_llm(...)``;
- a function: ``resolve_llm(...)``, ``resolve_embed_model(...)``, ``load_index_from_storage(...)``,
  ``get_response_synthesizer(...)``;
- ``Settings.llm`` and ``Settings.embed_model``.

Every value of a kind is tracked as the kind's base type (``llama_index.core.llms.LLM``), so the
catalog matches exactly the sync methods that kind has, each with its twin. The OpenAI,
Anthropic, boto3 and docker clients need no more than the catalog's constructors.
"""

from __future__ import annotations

from ..knowledge import catalog

__all__ = ["kind_of", "result_type"]

_BASES = {base: kind for kind, (base, _, _) in catalog.LLAMA_KINDS.items()}
_SUFFIXES = (("QueryEngine", "query_engine"), ("ChatEngine", "chat_engine"), ("Retriever", "retriever"),
             ("Embedding", "embedding"), ("Index", "index"), ("LLM", "llm"), ("Extractor", "extractor"))
_PACKAGES = (("llama_index.llms.", "llm"), ("llama_index.embeddings.", "embedding"),
             ("llama_index.core.response_synthesizers.", "synthesizer"))
# Methods of one kind that return an object of another (or the same) kind.
_CONVERSIONS = {
    ("index", "as_query_engine"): "query_engine", ("index", "as_retriever"): "retriever",
    ("index", "as_chat_engine"): "chat_engine", ("llm", "as_structured_llm"): "llm",
}
_CLASS_FACTORIES = frozenset({"from_documents", "from_vector_store", "from_defaults", "from_args",
                              "from_llm", "from_nodes"})
_FUNCTIONS = {
    "llama_index.core.llms.utils.resolve_llm": "llm",
    "llama_index.core.embeddings.utils.resolve_embed_model": "embedding",
    "llama_index.core.load_index_from_storage": "index",
    "llama_index.core.indices.loading.load_index_from_storage": "index",
    "llama_index.core.Settings.llm": "llm",
    "llama_index.core.Settings.embed_model": "embedding",
    "llama_index.core.get_response_synthesizer": "synthesizer",
    "llama_index.core.response_synthesizers.get_response_synthesizer": "synthesizer",
    "llama_index.core.response_synthesizers.factory.get_response_synthesizer": "synthesizer",
}


def kind_of(typ: str) -> str | None:
    """The LlamaIndex kind of a class (``"llama_index.core.VectorStoreIndex"`` -> ``"index"``)."""
    if not typ.startswith("llama_index."):
        return None
    kind = _BASES.get(typ)
    if kind is not None:
        return kind
    name = typ.rpartition(".")[2]
    if not name[:1].isupper():
        return None
    for suffix, kind in _SUFFIXES:
        if name.endswith(suffix):
            return kind
    for prefix, kind in _PACKAGES:
        if typ.startswith(prefix):
            return kind  # integration packages: every class of llama_index.llms.* is an LLM
    return None


def _base(kind: str | None) -> str | None:
    return catalog.LLAMA_KINDS[kind][0] if kind is not None else None


def result_type(target: str, instance_marker: str = "()") -> str | None:
    """The type of the value a call to the path ``target`` returns, when it is a LlamaIndex
    object of a known kind: the kind's base type, else None."""
    if not target.startswith("llama_index."):
        return None
    i = target.rfind(instance_marker)
    if i >= 0:  # a method of a tracked object: "llama_index.core.indices.base.BaseIndex().as_retriever"
        rest = target[i + len(instance_marker) + 1:]
        if "." in rest:
            return None
        return _base(_CONVERSIONS.get((_BASES.get(target[:i], ""), rest)))
    kind = _FUNCTIONS.get(target)
    if kind is not None:
        return _base(kind)
    owner, _, attr = target.rpartition(".")
    if attr in _CLASS_FACTORIES:
        return _base(kind_of(owner))
    owner_kind = _FUNCTIONS.get(owner)  # Settings.llm.as_structured_llm(...)
    if owner_kind is not None:
        return _base(_CONVERSIONS.get((owner_kind, attr)))
    return _base(kind_of(target))


def annotated_type(target: str) -> str | None:
    """The tracked type of a parameter annotated with a LlamaIndex class (``llm: LLM``)."""
    return _base(kind_of(target))
