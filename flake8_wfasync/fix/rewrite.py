"""Carrying out a fix plan: libcst rewrites, then the checks that make a pass safe.

:func:`fix_module` runs passes until nothing more changes; a pass whose result does not parse
and compile, gains findings or does not settle is refused as a whole.
"""

from __future__ import annotations

import io
import tokenize
import warnings
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

import libcst as cst

from ..analysis.project_view import ProjectView
from ..analysis.resolve import dotted
from ..analysis.walker import analyze_module
from ..config import Config, analysis_config
from ..knowledge.findings import Finding
from ..source import source_lines, suppressed
from .plan import CPU_POOL, DROP_IN_TWINS, ModuleFacts, Plan, make_plan, offloader

__all__ = ["Applied", "FixError", "fix_module"]

MAX_PASSES = 4


@dataclass
class Applied:
    finding: Finding
    description: str


def _needs_parens(node: cst.Call, facts: ModuleFacts) -> bool:
    parent = facts.parent.get(node)
    if isinstance(parent, cst.Attribute) and parent.value is node:
        return True
    if isinstance(parent, cst.Subscript) and parent.value is node:
        return True
    if isinstance(parent, cst.Call) and parent.func is node:
        return True
    return isinstance(parent, cst.Await)


def _describe(node: cst.CSTNode, module: cst.Module, limit: int = 60) -> str:
    text = " ".join(_without_comments(module.code_for_node(node)).split()).replace("( ", "(").replace(", )", ")")
    return text if len(text) <= limit else text[: limit - 3] + "..."


class _Rewriter(cst.CSTTransformer):
    def __init__(self, plan: Plan, facts: ModuleFacts, module: cst.Module) -> None:
        self.plan = plan
        self.facts = facts
        self.module = module
        self.asyncio = facts.asyncio_name or "asyncio"
        self.applied: list[Applied] = []

    def leave_FunctionDef(self, original: cst.FunctionDef, updated: cst.FunctionDef) -> cst.FunctionDef:
        f = self.plan.defs.get(original)
        if f is None:
            return updated
        name = original.name.value
        self.applied.append(Applied(f, f"async def {name} -> def {name} (the runtime runs it in a thread)"))
        return updated.with_changes(asynchronous=None)

    def leave_Call(self, original: cst.Call, updated: cst.Call) -> cst.BaseExpression:
        entry = self.plan.calls.get(original)
        if entry is None:
            return updated
        kind, f = entry
        before = _describe(original, self.module)
        if kind == "unwrap":
            new: cst.BaseExpression = self._unwrap(original, updated)
            self.applied.append(Applied(f, f"{before} -> {_describe(new, self.module)}"))
            return new
        if kind == "twin-function":
            twin = DROP_IN_TWINS.get(f.qualname or "", f.twin or "asyncio.sleep")
            attr = twin.split(".", 1)[1]
            call = updated.with_changes(func=cst.Attribute(cst.Name(self.asyncio), cst.Name(attr)))
        elif kind == "twin-method":
            assert isinstance(updated.func, cst.Attribute)
            call = updated.with_changes(func=updated.func.with_changes(attr=cst.Name(f.twin or "")))
        elif kind == "cpu-pool":
            call = self._on_cpu_pool(updated)
        else:
            call = self._to_thread(updated)
        if isinstance(self.facts.parent.get(original), cst.Await):
            # await os.unlink(p): the await is there already.
            self.applied.append(Applied(f, f"{before} -> {_describe(call, self.module)}"))
            return call
        parens = _needs_parens(original, self.facts)
        awaited = cst.Await(
            expression=call,
            lpar=[cst.LeftParen()] if parens else [],
            rpar=[cst.RightParen()] if parens else [],
        )
        self.applied.append(Applied(f, f"{before} -> {_describe(awaited, self.module)}"))
        return awaited.with_changes(lpar=list(original.lpar) + list(awaited.lpar),
                                    rpar=list(awaited.rpar) + list(original.rpar)) if original.lpar else awaited

    def _to_thread(self, call: cst.Call) -> cst.Call:
        func = call.func.with_changes(lpar=[], rpar=[]) if not _needs_own_parens(call.func) else call.func
        # A call laid out one argument per line keeps that layout with the callable first.
        spacing = call.whitespace_before_args
        after: cst.BaseParenthesizableWhitespace = (
            spacing if isinstance(spacing, cst.ParenthesizedWhitespace) else cst.SimpleWhitespace(" ")
        )
        first = cst.Arg(
            value=func,
            comma=cst.Comma(whitespace_after=after) if call.args else cst.MaybeSentinel.DEFAULT,
        )
        return cst.Call(
            func=cst.Attribute(cst.Name(self.asyncio), cst.Name("to_thread")),
            args=[first, *call.args],
            whitespace_before_args=call.whitespace_before_args,
            whitespace_after_func=call.whitespace_after_func,
        )

    def _on_cpu_pool(self, call: cst.Call) -> cst.Call:
        """``asyncio.get_running_loop().run_in_executor(CPU_POOL, fn, *args)``; keyword
        arguments go through ``functools.partial`` (run_in_executor passes none on)."""
        func = call.func.with_changes(lpar=[], rpar=[]) if not _needs_own_parens(call.func) else call.func
        space = cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))
        args = [a.with_changes(comma=space) for a in call.args]
        if args:
            args[-1] = args[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
        if any(a.keyword is not None or a.star == "**" for a in call.args):
            partial = cst.Call(func=cst.Attribute(cst.Name("functools"), cst.Name("partial")),
                               args=[cst.Arg(func, comma=space), *args])
            rest = [cst.Arg(partial)]
        else:
            rest = [cst.Arg(func, comma=space if args else cst.MaybeSentinel.DEFAULT), *args]
        loop = cst.Call(func=cst.Attribute(cst.Name(self.asyncio), cst.Name("get_running_loop")))
        return cst.Call(
            func=cst.Attribute(loop, cst.Name("run_in_executor")),
            args=[cst.Arg(cst.Name(CPU_POOL), comma=space), *rest],
        )

    def _unwrap(self, original: cst.Call, updated: cst.Call) -> cst.Call:
        kind, index = offloader(original)  # type: ignore[misc]
        inner = updated.args[index].value
        assert isinstance(inner, cst.Call)
        outer_arg = updated.args[index]
        callable_arg = cst.Arg(
            value=inner.func,
            comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")) if inner.args else outer_arg.comma,
        )
        inner_args = list(inner.args)
        if inner_args:
            last = inner_args[-1]
            inner_args[-1] = last.with_changes(comma=outer_arg.comma)
        return updated.with_changes(args=[*updated.args[:index], callable_arg, *inner_args])


def _without_comments(code: str) -> str:
    try:
        tokens = [t for t in tokenize.generate_tokens(io.StringIO(code).readline) if t.type != tokenize.COMMENT]
        return tokenize.untokenize(tokens)
    except (tokenize.TokenError, SyntaxError, IndentationError):
        return code


def _needs_own_parens(expr: cst.BaseExpression) -> bool:
    simple = (cst.Name, cst.Attribute, cst.Call, cst.Subscript)
    return bool(getattr(expr, "lpar", None)) and not isinstance(expr, simple)


def _is_docstring(stmt: cst.BaseStatement) -> bool:
    return (isinstance(stmt, cst.SimpleStatementLine) and len(stmt.body) == 1 and isinstance(stmt.body[0], cst.Expr)
            and isinstance(stmt.body[0].value, (cst.SimpleString, cst.ConcatenatedString)))


def _import_of(stmt: cst.BaseStatement) -> cst.Import | cst.ImportFrom | None:
    if (isinstance(stmt, cst.SimpleStatementLine) and len(stmt.body) == 1
            and isinstance(stmt.body[0], (cst.Import, cst.ImportFrom))):
        return stmt.body[0]
    return None


def _is_future(stmt: cst.BaseStatement) -> bool:
    imp = _import_of(stmt)
    return isinstance(imp, cst.ImportFrom) and imp.module is not None and dotted(imp.module) == "__future__"


def _add_import(module: cst.Module, name: str = "asyncio") -> cst.Module:
    """``import <name>`` among the first imports (in sorted place within their first group),
    else after the docstring and ``__future__`` imports."""
    body = list(module.body)
    position = 0
    if body and _is_docstring(body[0]):
        position = 1
    while position < len(body) and _is_future(body[position]):
        position += 1
    new_stmt = cst.SimpleStatementLine(body=[cst.Import(names=[cst.ImportAlias(name=cst.parse_expression(name))])])
    if position < len(body) and _import_of(body[position]) is not None:
        # Skip plain imports of the same group (no blank line between) that sort before asyncio.
        first = position
        while position < len(body):
            imp = _import_of(body[position])
            if not isinstance(imp, cst.Import) or (position > first and body[position].leading_lines):
                break
            if (dotted(imp.names[0].name) or "") >= name:
                break
            position += 1
        following = body[position] if position < len(body) else None
        if following is not None and _import_of(following) is not None and position == first:
            # Comments above the first import stay above the block, now headed by asyncio.
            new_stmt = new_stmt.with_changes(leading_lines=following.leading_lines)
            body[position] = following.with_changes(leading_lines=[])
    elif position > 0:
        new_stmt = new_stmt.with_changes(leading_lines=[cst.EmptyLine()])
        if position < len(body) and not body[position].leading_lines:
            body[position] = body[position].with_changes(leading_lines=[cst.EmptyLine()])
    elif body:
        if not body[0].leading_lines:
            body[0] = body[0].with_changes(leading_lines=[cst.EmptyLine()])
    body.insert(position, new_stmt)
    return module.with_changes(body=body)


_POOL_COMMENT = "# CPU-heavy calls run here, off the event loop and out of asyncio's default pool."


def _add_cpu_pool(module: cst.Module) -> cst.Module:
    """``CPU_POOL = concurrent.futures.ThreadPoolExecutor(...)`` after the module's first
    block of imports (after the docstring when there is none)."""
    body = list(module.body)
    position = 1 if body and _is_docstring(body[0]) else 0
    while position < len(body) and _import_of(body[position]) is not None:
        position += 1
    assign = cst.parse_statement(
        f'{CPU_POOL} = concurrent.futures.ThreadPoolExecutor(max_workers=2, thread_name_prefix="cpu")\n')
    assign = assign.with_changes(leading_lines=[cst.EmptyLine(), cst.EmptyLine(comment=cst.Comment(_POOL_COMMENT))])
    if position < len(body) and not body[position].leading_lines:
        body[position] = body[position].with_changes(leading_lines=[cst.EmptyLine(), cst.EmptyLine()])
    body.insert(position, assign)
    return module.with_changes(body=body)


class FixError(Exception):
    """A pass that cannot be applied safely: the file is left unchanged, the message says why."""


def _analyze(module: cst.Module, path: str, config: Config, index: ProjectView | None) -> list[Finding]:
    return list(analyze_module(module, path, config, index=index))


def _relevant(findings: Iterable[Finding], module: cst.Module, config: Config) -> list[Finding]:
    findings = list(findings)
    if not findings:
        return []
    lines = source_lines(module.code)  # code generation costs about a parse: only when needed
    out = []
    for f in findings:
        if not config.code_enabled(f.code):
            continue
        text = lines[f.line - 1] if 0 < f.line <= len(lines) else ""
        if suppressed(f.code, text):
            continue
        out.append(f)
    return out


def _signature(findings: Iterable[Finding]) -> Counter[tuple[str, str]]:
    return Counter((f.code, f.qualname or "") for f in findings)


def fix_module(
    module: cst.Module, path: str, config: Config, index: ProjectView | None = None
) -> tuple[cst.Module, list[Applied], list[tuple[Finding, str]], list[Finding]]:
    """Fix passes until nothing more changes. Returns the module, what was applied, the
    refusals of the last pass and the findings left."""
    acfg = analysis_config(config)
    applied: list[Applied] = []
    findings = _relevant(_analyze(module, path, acfg, index), module, config)
    refusals: list[tuple[Finding, str]] = []
    for _ in range(MAX_PASSES):
        facts = ModuleFacts(module)
        plan = make_plan(module, findings, facts)
        refusals = plan.refusals
        if plan.empty:
            return module, applied, refusals, findings
        rewriter = _Rewriter(plan, facts, module)
        new_module = module.visit(rewriter)
        if plan.needs_cpu_pool:
            new_module = _add_cpu_pool(new_module)
        for name, needed in (("functools", plan.needs_functools), ("concurrent.futures", plan.needs_cpu_pool)):
            if needed and not facts.imports_module(name):
                new_module = _add_import(new_module, name)
        if plan.needs_asyncio and facts.asyncio_name is None:
            new_module = _add_import(new_module)
        new_code = new_module.code
        try:
            reparsed = cst.parse_module(new_module.bytes)
            with warnings.catch_warnings():
                # SyntaxWarnings about the user's own code (``x is 1``) are not ours to print.
                warnings.simplefilter("ignore")
                compile(new_code, path, "exec", dont_inherit=True)
        except (cst.ParserSyntaxError, SyntaxError, ValueError) as exc:
            detail = " ".join(str(exc).split())[:120]
            raise FixError(f"a rewrite would not compile ({detail}); file left unchanged") from None
        new_findings = _relevant(_analyze(reparsed, path, acfg, index), reparsed, config)
        before, after = _signature(findings), _signature(new_findings)
        gained = after - before
        if gained:
            what = ", ".join(f"{code} {name}".strip() for code, name in sorted(gained))
            raise FixError(f"a rewrite would add findings ({what}); file left unchanged")
        applied.extend(rewriter.applied)
        module, findings = reparsed, new_findings
    facts = ModuleFacts(module)
    if not make_plan(module, findings, facts).empty:
        raise FixError(f"rewrites did not settle after {MAX_PASSES} passes; file left unchanged")
    return module, applied, make_plan(module, findings, facts).refusals, findings
