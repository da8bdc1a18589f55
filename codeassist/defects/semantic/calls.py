"""Rules about calls.

``call-arity``: a call of a function the file defines (a module-level function, a method through
``self``, a class through its ``__init__``) with too many or too few arguments, an unknown keyword,
or one argument given twice. Only callees whose name the file binds once, undecorated (a decorator
may change the signature; ``staticmethod``/``classmethod`` are understood), and, for methods and
classes, in a class whose every base this file shows (`FileFacts.ancestry`). Calls with ``*args``
check only their keywords; calls with ``**kwargs`` check nothing missing.

``discarded-pure-call``: a statement that computes a value and drops it, where the call has no
other effect: a string method (``s.strip()``: strings are immutable) or a pure builtin
(``sorted(x)``). Methods that other types also have with effects (``join``, ``replace``,
``split``, ``format``) count only on a receiver that is visibly a string.
"""

from __future__ import annotations

import ast
import difflib
from dataclasses import dataclass

from codeassist.defects.findings import Finding
from codeassist.defects.semantic.model import (
    FileFacts,
    decorator_name,
    dotted,
    make_finding,
)

ARITY_RULE = "call-arity"
DISCARD_RULE = "discarded-pure-call"
ARITY_CONFIDENCE = 0.9
DISCARD_CONFIDENCE = 0.85

# String methods no other common type has with a side effect.
STR_ONLY_METHODS = frozenset(
    {
        "strip", "lstrip", "rstrip", "lower", "upper", "casefold", "capitalize", "swapcase",
        "title", "zfill", "removeprefix", "removesuffix", "expandtabs", "startswith",
        "endswith", "isalpha", "isdigit", "isalnum", "isspace", "islower", "isupper",
        "isidentifier", "isnumeric", "isdecimal", "istitle", "splitlines", "ljust", "rjust",
    }
)  # fmt: skip
# String methods that other types have with effects (``thread.join()``, ``path.replace(dst)``).
STR_METHODS = STR_ONLY_METHODS | {"join", "replace", "split", "rsplit", "format", "center",
                                  "partition", "rpartition", "encode", "translate", "count",
                                  "find", "rfind", "index", "rindex"}  # fmt: skip
RETURNS_STRING = STR_METHODS - {"startswith", "endswith", "split", "rsplit", "splitlines",
                                "partition", "rpartition", "encode", "count", "find", "rfind",
                                "index", "rindex"} - {m for m in STR_ONLY_METHODS
                                                      if m.startswith("is")}  # fmt: skip
# ``len(x)`` and ``repr(x)`` alone are used for their effect (load a lazy object, check it
# works); these are not.
PURE_BUILTINS = frozenset({"sorted", "reversed", "abs", "round", "min", "max"})


@dataclass(frozen=True)
class _Signature:
    positional: tuple[str, ...]  # after the implicit self/cls
    positional_only: int  # how many of `positional` cannot be passed by keyword
    required_positional: int
    keyword_only: tuple[str, ...]
    required_keyword_only: frozenset[str]
    varargs: bool
    varkw: bool


def _signature(function: ast.FunctionDef | ast.AsyncFunctionDef, implicit: int) -> _Signature:
    args = function.args
    positional = [a.arg for a in args.posonlyargs + args.args]
    required = len(positional) - len(args.defaults)
    return _Signature(
        positional=tuple(positional[implicit:]),
        positional_only=max(0, len(args.posonlyargs) - implicit),
        required_positional=max(0, required - implicit),
        keyword_only=tuple(a.arg for a in args.kwonlyargs),
        required_keyword_only=frozenset(
            a.arg for a, d in zip(args.kwonlyargs, args.kw_defaults, strict=True) if d is None
        ),
        varargs=args.vararg is not None,
        varkw=args.kwarg is not None,
    )


def _problems(call: ast.Call, sig: _Signature, name: str) -> tuple[list[str], str | None]:
    """What is wrong with the call, and a corrected keyword spelling when that is all."""
    starred = any(isinstance(a, ast.Starred) for a in call.args)
    double = any(k.arg is None for k in call.keywords)
    given = len(call.args)
    keywords = [k.arg for k in call.keywords if k.arg is not None]
    problems: list[str] = []
    fix_keyword = None
    if not starred and not sig.varargs and given > len(sig.positional):
        problems.append(
            f"`{name}` takes {len(sig.positional)} positional argument(s), {given} given"
        )
    by_keyword = set(sig.positional[sig.positional_only :]) | set(sig.keyword_only)
    for keyword in keywords:
        if keyword in by_keyword or sig.varkw:
            if not starred and keyword in sig.positional[:given]:
                problems.append(f"`{name}` gets `{keyword}` twice (by position and keyword)")
            continue
        unfilled = sorted(by_keyword - set(keywords) - set(sig.positional[:given]))
        close = difflib.get_close_matches(keyword, unfilled, n=1, cutoff=0.75)
        problems.append(
            f"`{name}` has no parameter `{keyword}`"
            + (f"; did you mean `{close[0]}`?" if close else "")
        )
        if close and fix_keyword is None:
            fix_keyword = f"{keyword}={close[0]}"
    if not starred and not double:
        covered = set(sig.positional[:given]) | set(keywords)
        missing = [p for p in sig.positional[: sig.required_positional] if p not in covered]
        missing += sorted(sig.required_keyword_only - set(keywords))
        if missing:
            problems.append(f"`{name}` is missing {', '.join(f'`{m}`' for m in missing)}")
    return problems, fix_keyword if len(problems) == 1 else None


def _implicit(function: ast.FunctionDef | ast.AsyncFunctionDef) -> int | None:
    """Arguments the call supplies itself: 1 for a method or classmethod, 0 for a static
    method, None for a decorator we cannot see through."""
    names = [decorator_name(d) for d in function.decorator_list]
    if not names:
        return 1
    if names == ["staticmethod"]:
        return 0
    if names == ["classmethod"]:
        return 1
    return None


def _init_of(facts: FileFacts, node: ast.ClassDef) -> tuple[ast.FunctionDef, int] | None:
    """The ``__init__`` a call of the class runs, when the file shows it (and no ``__new__``)."""
    if node.decorator_list:  # a dataclass writes its own __init__
        return None
    chain = facts.ancestry(node)
    if chain is None or any(isinstance(c, str) and c != "object" for c in chain):
        return None
    if any(len(c.bases) > 1 for c in chain if isinstance(c, ast.ClassDef)):
        return None  # multiple inheritance: the MRO is not worth guessing
    for item in chain:
        if isinstance(item, str):
            continue  # object: no arguments, but its __init__ is checked nowhere here
        members = {
            m.name: m for m in item.body if isinstance(m, ast.FunctionDef | ast.AsyncFunctionDef)
        }
        if "__new__" in members:
            return None
        if "__init__" in members:
            init = members["__init__"]
            return (init, 1) if not init.decorator_list else None
    return None


def _callees(facts: FileFacts):
    """(call, callee def, implicit args, shown name) for the calls this rule can judge."""
    for node in facts.nodes:
        if isinstance(node, ast.ClassDef) and facts.ancestry(node) is not None:
            methods = {
                m.name: m
                for m in node.body
                if isinstance(m, ast.FunctionDef | ast.AsyncFunctionDef)
                and facts.method_names.get(m.name) == 1
            }
            for method in node.body:
                if not isinstance(method, ast.FunctionDef | ast.AsyncFunctionDef):
                    continue
                for call in ast.walk(method):
                    if not (
                        isinstance(call, ast.Call)
                        and isinstance(call.func, ast.Attribute)
                        and isinstance(call.func.value, ast.Name)
                        and call.func.value.id == "self"
                        and call.func.attr in methods
                        and call.func.attr not in facts.stored_attributes
                    ):
                        continue
                    callee = methods[call.func.attr]
                    implicit = _implicit(callee)
                    if implicit is not None and (callee.args.posonlyargs + callee.args.args):
                        yield call, callee, implicit, f"self.{callee.name}"
    for call in facts.nodes:
        if not isinstance(call, ast.Call) or not isinstance(call.func, ast.Name):
            continue
        name = call.func.id
        function = facts.functions.get(name)
        if function is not None and not function.decorator_list:
            yield call, function, 0, name
            continue
        cls = facts.classes.get(name)
        if cls is not None and cls in facts.tree.body:
            init = _init_of(facts, cls)
            if init is not None and (init[0].args.posonlyargs + init[0].args.args):
                yield call, init[0], init[1], name


def check_call_arity(facts: FileFacts, path: str) -> list[Finding]:
    """Findings of ``call-arity`` for one file."""
    findings = []
    for call, callee, implicit, name in _callees(facts):
        problems, fix_keyword = _problems(call, _signature(callee, implicit), name)
        if not problems:
            continue
        fix = None
        if fix_keyword is not None:
            old, new = fix_keyword.split("=")
            fixed = ast.Call(
                func=call.func,
                args=call.args,
                keywords=[
                    ast.keyword(arg=new if k.arg == old else k.arg, value=k.value)
                    for k in call.keywords
                ],
            )
            fix = ast.unparse(fixed) if call.lineno == call.end_lineno else None
        findings.append(
            make_finding(
                facts,
                path,
                call,
                ARITY_RULE,
                "; ".join(problems) + f" (defined at line {callee.lineno})",
                ARITY_CONFIDENCE,
                fix=fix,
            )
        )
    return findings


def _visibly_string(node: ast.expr) -> bool:
    if isinstance(node, ast.Constant):
        return isinstance(node.value, str)
    if isinstance(node, ast.JoinedStr):
        return True
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in RETURNS_STRING
        and _visibly_string(node.func.value)
    )


def check_discarded_calls(facts: FileFacts, path: str) -> list[Finding]:
    """Findings of ``discarded-pure-call`` for one file."""
    findings = []
    tried = facts.inside_try
    for statement in facts.nodes:
        if not isinstance(statement, ast.Expr) or not isinstance(statement.value, ast.Call):
            continue
        if id(statement) in tried:
            continue  # called to see whether it raises
        call = statement.value
        func = call.func
        target = None
        if isinstance(func, ast.Attribute) and (
            func.attr in STR_ONLY_METHODS
            or (func.attr in STR_METHODS and _visibly_string(func.value))
        ):
            what = f"`.{func.attr}()` returns a new value (strings are immutable)"
            if func.attr in RETURNS_STRING:
                target = dotted(func.value)
        elif (
            isinstance(func, ast.Name)
            and func.id in PURE_BUILTINS
            and facts.binding_counts.get(func.id, 0) == 0
        ):
            what = f"`{func.id}()` returns a new value and changes nothing"
            if func.id == "sorted" and call.args and not isinstance(call.args[0], ast.Starred):
                target = dotted(call.args[0])
        else:
            continue
        fix = f"{target} = {ast.unparse(call)}" if target else None
        if fix is not None and statement.lineno != statement.end_lineno:
            fix = None
        findings.append(
            make_finding(
                facts,
                path,
                statement,
                DISCARD_RULE,
                f"{what}, and the result is dropped",
                DISCARD_CONFIDENCE,
                fix=fix,
            )
        )
    return findings
