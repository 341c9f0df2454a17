"""libcst trees walked by hand: the concrete node types, and the nodes a node holds.

libcst's visitors rebuild each node they pass and dispatch through several calls per node; the
analysis and the fixer walk dataclass fields instead, several times faster.
"""

from __future__ import annotations

import libcst as cst

__all__ = ["NODE_TYPES", "child_nodes"]


def _node_types() -> frozenset[type]:
    out: set[type] = set()
    todo = [cst.CSTNode]
    while todo:
        cls = todo.pop()
        for sub in cls.__subclasses__():
            if sub not in out:
                out.add(sub)
                todo.append(sub)
    return frozenset(out)


# isinstance() against libcst's ABC-based classes is slow; a set of the concrete types is not.
NODE_TYPES: frozenset[type] = _node_types()


def child_nodes(node: cst.CSTNode, fields: tuple[str, ...]) -> list[cst.CSTNode]:
    """The nodes that ``fields`` of ``node`` hold, in field order."""
    out: list[cst.CSTNode] = []
    for name in fields:
        value = getattr(node, name)
        tv = type(value)
        if tv in NODE_TYPES:
            out.append(value)
        elif tv is tuple or tv is list:
            out.extend(x for x in value if type(x) in NODE_TYPES)
    return out
