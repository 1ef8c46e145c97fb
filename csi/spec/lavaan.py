"""lavaan-style model text: :func:`parse_lavaan` and :func:`render_lavaan`.

Statements
----------
``SAT =~ sat1 + sat2``
    reflective construct (mode A) with its items, in order;
``IMAG <~ imag1 + imag2``
    composite construct (mode B);
``QUAL =~ PROD + SERV``
    higher-order construct: when every name on the right is a construct of
    the model, the left-hand construct is measured by those constructs
    (``<~`` for a composite higher-order construct); mixing constructs and
    items in one statement is an error;
``SAT ~ IMAG + EXPE``
    structural paths ``IMAG -> SAT`` and ``EXPE -> SAT`` (several targets on
    the left, ``Y1 + Y2 ~ X``, are accepted too);
``a ~~ b``
    residual covariance (``a ~~ b + c`` gives two; ``a ~~ a`` a variance).

Modifiers (CB-SEM only), lavaan's premultipliers on a right-hand name:
``1*x`` fixes the parameter at 1 (any number), ``NA*x`` frees a loading that
would be the marker (the first loading is fixed at 1 unless it carries a fixed
value or ``NA``), ``a*x`` labels it; parameters sharing a label are equal.
Other lavaan constructs (``c()``, ``start()``, ``==``, ``:=``, ``~ 1``,
thresholds) are a syntax error naming them.

A statement ends at the end of the line unless the line ends with ``+``, in
which case the list goes on on the next line; ``;`` separates statements on
one line.  ``#`` starts a comment.  Names are letters, digits, ``_`` and
``.``, not starting with a digit; any other name (a column called ``Q 1a``)
is written in double quotes with JSON escapes, ``"Q 1a"``.  Construct names
must be Python identifiers.

Directives
----------
Everything lavaan syntax cannot say is kept in *directive comments*, lines
that start with ``#:``.  lavaan reads them as comments, so a rendered model
still runs in lavaan.  Directives may appear anywhere (before or after the
statements they refer to) and are applied in file order, a later one
overriding an earlier one.  ``NAMES`` is a space-separated list of items; a
construct name stands for all its items, and an empty list means every item.

========================================  ==============================================
``#: name "ECSI-7"``                      model name (default: the ``name`` argument)
``#: label "European CSI ..."``           model label (one argument)
``#: label SAT "Customer satisfaction"``  label of a construct or an item (two arguments)
``#: target SAT``                         construct whose index is the headline number
``#: sign SAT ~ IMAG +``                  expected sign (``+``, ``-``, ``?``) of a path;
                                          paths without one get ``?``
``#: scale 1 10 NAMES``                   theoretical scale end points (default: none)
``#: type binary NAMES``                  item type (default ``interval``)
``#: reverse NAMES``                      reverse-worded items
``#: missing 98 99 NAMES``                missing-value codes (the leading numbers)
``#: better lower NAMES``                  constructs for which lower is better (default: higher)
========================================  ==============================================

:func:`render_lavaan` writes every field of a :class:`~csi.spec.model.ModelSpec`
this way, so ``parse_lavaan(render_lavaan(spec)) == spec`` for every valid spec.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from csi.errors import ModelSyntaxError, SpecError
from csi.spec.model import ITEM_TYPES, SIGNS, Construct, Covariance, Item, ModelSpec, Modifier, Path

__all__ = ["parse_lavaan", "render_lavaan"]

OPERATORS = {"=~": "reflective", "<~": "composite", "~": "regression", "~~": "covariance"}
DIRECTIVES = ("name", "label", "target", "sign", "scale", "type", "reverse", "missing", "better")

_TOKEN = re.compile(
    r"""
     (?P<ws>\s+)
    |(?P<comment>\#.*)
    |(?P<string>"(?:[^"\\\n]|\\.)*")
    |(?P<number>[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?(?![\w.]))
    |(?P<op>\+|;|[=~<>:|*!,()\[\]{}^&%@$/\\]+)
    |(?P<word>[^\s=~<>+;\#"*:|!,()\[\]{}^&%@$/\\]+)
    |(?P<bad>.)
    """,
    re.VERBOSE,
)
_BARE = re.compile(r"[^\W\d][\w.]*")
_WRAP = 78


# ----------------------------------------------------------------- tokens
@dataclass(frozen=True)
class _Tok:
    kind: str  # "name", "number", "op", "word"
    text: str  # source text
    value: object  # decoded name, number, or the text
    line: int
    col: int  # 1-based


@dataclass
class _Source:
    lines: list[str]

    def error(self, msg: str, line: int, col: int) -> ModelSyntaxError:
        return ModelSyntaxError(msg, line, col, self.lines[line - 1] if 0 < line <= len(self.lines) else "")

    def at(self, tok: _Tok, msg: str) -> ModelSyntaxError:
        return self.error(msg, tok.line, tok.col)

    def after(self, tok: _Tok, msg: str) -> ModelSyntaxError:
        return self.error(msg, tok.line, tok.col + len(tok.text))


def _tokenize(src: _Source, lineno: int, text: str, offset: int = 0) -> tuple[list[_Tok], tuple[int, str] | None]:
    """Tokens of one line, and the directive text (column, text after ``#:``) if the line has one."""
    toks: list[_Tok] = []
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        assert m is not None  # the "bad" branch matches any character
        kind, s, col = m.lastgroup, m.group(), offset + pos + 1
        pos = m.end()
        if kind == "ws":
            continue
        if kind == "comment":
            if s.startswith("#:"):
                return toks, (col + 2, s[2:])
            break
        if kind == "bad":
            if s == '"':
                raise src.error('unterminated quoted name: a closing " is missing', lineno, col)
            raise src.error(f"unexpected character {s!r}", lineno, col)
        if kind == "string":
            try:
                value: object = json.loads(s)
            except json.JSONDecodeError as exc:
                raise src.error(f"bad escape in quoted name {s}: {exc.msg}", lineno, col) from None
            toks.append(_Tok("name", s, value, lineno, col))
        elif kind == "number":
            num = float(s)
            toks.append(_Tok("number", s, int(num) if re.fullmatch(r"[+-]?\d+", s) else num, lineno, col))
        else:
            toks.append(_Tok(kind, s, s, lineno, col))
    return toks, None


def _name(src: _Source, tok: _Tok, what: str = "variable name") -> str:
    """The name a token stands for; a bad identifier is a syntax error at the token."""
    if tok.kind == "name":
        return str(tok.value)
    if tok.kind == "word" and _BARE.fullmatch(tok.text):
        return tok.text
    if tok.kind in ("word", "number"):
        raise src.at(
            tok,
            f"bad identifier {tok.text!r}: a {what} is letters, digits, '_' and '.', not starting with a digit "
            '(write other names in double quotes, e.g. "Q 1a")',
        )
    raise src.at(tok, f"expected a {what}, got {tok.text!r}")


def _modifier(src: _Source, tok: _Tok, star: _Tok) -> tuple[float | None, str]:
    """``(fixed, label)`` of a premultiplier ``1*``, ``NA*`` or ``label*``."""
    if tok.kind == "number":
        return float(tok.value), ""  # type: ignore[arg-type]
    if tok.kind == "word" and tok.text == "NA":
        return None, ""
    if tok.kind == "word" and tok.text.isidentifier():
        return None, tok.text
    raise src.at(
        tok,
        f"unsupported modifier {tok.text!r} before '*'; accepted: a number (fixed value, 1*x), NA (free, NA*x) "
        "or a label (a*x); vectors c(...), start(), equal() and other lavaan modifiers are not supported",
    )


def _name_list(
    src: _Source, toks: list[_Tok], side: str, op: _Tok
) -> list[tuple[str, _Tok, tuple[float | None, str] | None]]:
    """``a + 1*b + NA*c`` -> names with their tokens and premultiplier ``(fixed, label)`` (or None)."""
    if not toks:
        if side == "left":
            raise src.at(op, f"missing left-hand side before {op.text!r}")
        raise src.after(op, f"missing right-hand side after {op.text!r}")
    out: list[tuple[str, _Tok, tuple[float | None, str] | None]] = []
    k = 0
    while k < len(toks):
        tok = toks[k]
        if tok.kind == "op" and tok.text == "+":
            raise src.at(tok, "expected a name before '+'")
        mod = None
        if k + 1 < len(toks) and toks[k + 1].kind == "op" and toks[k + 1].text == "*":
            if side == "left":
                raise src.at(toks[k + 1], "modifiers (x*name) go on the right-hand side only")
            mod = _modifier(src, tok, toks[k + 1])
            k += 2
            if k >= len(toks):
                raise src.after(toks[k - 1], "missing name after '*'")
            tok = toks[k]
        if tok.kind == "number" and mod is None and side == "right" and op.text == "~":
            raise src.at(tok, "intercepts and mean structures (~ 1) are not supported; csi models centred data")
        out.append((_name(src, tok), tok, mod))
        k += 1
        if k < len(toks):
            nxt = toks[k]
            if nxt.kind != "op" or nxt.text != "+":
                raise src.at(nxt, f"expected '+' between {tok.text!r} and {nxt.text!r}")
            k += 1
            if k >= len(toks):
                raise src.after(nxt, "missing name after '+'")
    return out


# ----------------------------------------------------------------- parser
@dataclass
class _Model:
    constructs: dict[str, tuple[str, list[str], int, _Tok]] = field(default_factory=dict)  # mode, items, line, tok
    paths: list[tuple[str, str, int]] = field(default_factory=list)
    covariances: list[tuple[str, str, int]] = field(default_factory=list)
    modifiers: list[tuple[str, str, str, float | None, str, _Tok]] = field(default_factory=list)


def _statement(src: _Source, toks: list[_Tok], model: _Model) -> None:
    ops = [t for t in toks if t.kind == "op" and t.text not in ("+", "*")]
    for t in ops:
        if t.text not in OPERATORS:
            hint = ""
            if t.text in ("==", ":=", "<", ">"):
                hint = " (constraints, inequality constraints and defined parameters are not supported)"
            elif t.text in ("|", "~*~", "%", "(", ")", ","):
                hint = " (thresholds, scaling factors, vectors and functions are not supported)"
            raise src.at(t, f"unknown operator {t.text!r}{hint}; accepted: =~ <~ ~ ~~, + and modifiers 1*x NA*x a*x")
    if not ops:
        if len(toks) == 1:
            raise src.after(toks[0], f"expected an operator (=~, <~, ~ or ~~) after {toks[0].text!r}")
        raise src.at(toks[1], f"expected an operator (=~, <~, ~ or ~~) after {toks[0].text!r}, got {toks[1].text!r}")
    if len(ops) > 1:
        raise src.at(ops[1], f"unexpected second operator {ops[1].text!r}; one operator per statement")
    op = ops[0]
    k = toks.index(op)
    lhs = _name_list(src, toks[:k], "left", op)
    rhs = _name_list(src, toks[k + 1 :], "right", op)
    for name, tok, mod in rhs:
        if mod is None:
            continue
        if op.text == "<~":
            raise src.at(tok, "modifiers (1*x, NA*x, a*x) apply to =~, ~ and ~~ statements, not to composites (<~)")
        for left, _, _ in lhs:
            model.modifiers.append((left, op.text, name, mod[0], mod[1], tok))
    if op.text in ("=~", "<~"):
        if len(lhs) > 1:
            raise src.at(lhs[1][1], f"one construct per {op.text!r} statement")
        name, tok, _ = lhs[0]
        if not name.isidentifier():
            raise src.at(tok, f"bad identifier {tok.text!r}: a construct name must be a Python identifier")
        mode = "A" if op.text == "=~" else "B"
        if name in model.constructs:
            old_mode, _, old_line, _ = model.constructs[name]
            if old_mode != mode:
                kinds = {"A": "reflective (=~)", "B": "composite (<~)"}
                raise src.at(
                    tok,
                    f"construct {name!r} is defined {kinds[old_mode]} on line {old_line} and "
                    f"{kinds[mode]} here; a construct has one measurement mode",
                )
            raise src.at(tok, f"construct {name!r} is already defined on line {old_line}; list all its items once")
        model.constructs[name] = (mode, [n for n, _, _ in rhs], tok.line, tok)
    elif op.text == "~":
        model.paths += [(s, t, op.line) for t, _, _ in lhs for s, _, _ in rhs]
    else:
        model.covariances += [(a, b, op.line) for a, _, _ in lhs for b, _, _ in rhs]


def _number(src: _Source, tok: _Tok) -> float:
    if tok.kind != "number":
        raise src.at(tok, f"expected a number, got {tok.text!r}")
    return tok.value  # type: ignore[return-value]


def _text(src: _Source, tok: _Tok) -> str:
    """A quoted string or a single bare word, as written."""
    if tok.kind == "name":
        return str(tok.value)
    if tok.kind == "word":
        return tok.text
    raise src.at(tok, f"expected a quoted string, got {tok.text!r}")


class _Directives:
    """Collects directive effects; applied once every statement is known."""

    def __init__(self, src: _Source, default_name: str) -> None:
        self.src = src
        self.name = default_name
        self.label = ""
        self.target: str | None = None
        self.target_line = 0
        self.signs: dict[tuple[str, str], tuple[str, _Tok]] = {}
        self.labels: list[tuple[str, str, _Tok]] = []
        self.item_ops: list[tuple[dict[str, object], list[_Tok], int]] = []
        self.better: list[tuple[str, list[_Tok]]] = []

    def add(self, toks: list[_Tok], line: int, col: int) -> None:
        src = self.src
        if not toks:
            raise src.error(f"empty directive; accepted: {', '.join(DIRECTIVES)}", line, col)
        key, args = toks[0], toks[1:]
        kw = key.text if key.kind == "word" else ""
        if kw not in DIRECTIVES:
            raise src.at(key, f"unknown directive {key.text!r}; accepted: {', '.join(DIRECTIVES)}")

        def arity(n: int) -> None:
            if len(args) < n:
                raise src.after(args[-1] if args else key, f"'{kw}' needs {n} argument(s)")
            if len(args) > n:
                raise src.at(args[n], f"unexpected extra argument {args[n].text!r} to '{kw}'")

        if kw == "name":
            arity(1)
            self.name = _text(src, args[0])
        elif kw == "label":
            if len(args) == 1:
                self.label = _text(src, args[0])
            else:
                arity(2)
                self.labels.append((_name(src, args[0]), _text(src, args[1]), args[0]))
        elif kw == "target":
            arity(1)
            self.target = _name(src, args[0], "construct name")
            self.target_line = line
        elif kw == "sign":
            arity(4)
            if args[1].text != "~":
                raise src.at(args[1], "expected '~': write the path as '#: sign TARGET ~ SOURCE +'")
            if args[3].text not in SIGNS:
                raise src.at(args[3], f"unknown sign {args[3].text!r}; accepted: + - ?")
            target, source = _name(src, args[0]), _name(src, args[2])
            self.signs[(source, target)] = (args[3].text, args[0])
        elif kw == "scale":
            if len(args) < 2:
                raise src.after(args[-1] if args else key, "'scale' needs the two end points, e.g. '#: scale 1 10'")
            lo, hi = _number(src, args[0]), _number(src, args[1])
            self.item_ops.append(({"scale_min": lo, "scale_max": hi}, args[2:], line))
        elif kw == "type":
            if not args:
                raise src.after(key, f"'type' needs a type: {', '.join(ITEM_TYPES)}")
            if args[0].text not in ITEM_TYPES:
                raise src.at(args[0], f"unknown item type {args[0].text!r}; accepted: {', '.join(ITEM_TYPES)}")
            self.item_ops.append(({"type": args[0].text}, args[1:], line))
        elif kw == "reverse":
            self.item_ops.append(({"reverse": True}, args, line))
        elif kw == "better":
            if len(args) < 2 or args[0].text not in ("higher", "lower"):
                raise src.after(key, "'better' needs higher or lower and construct names, e.g. '#: better lower COMP'")
            self.better.append((args[0].text, args[1:]))
        else:  # missing
            n = next((i for i, t in enumerate(args) if t.kind != "number"), len(args))
            if n == 0:
                raise src.after(key, "'missing' needs at least one code, e.g. '#: missing 98 99 sat1'")
            self.item_ops.append(({"missing_codes": tuple(t.value for t in args[:n])}, args[n:], line))


def _locate(build: Callable[[int], object], n: int) -> int | None:
    """Smallest k such that ``build(k)`` raises, i.e. the element that makes validation fail.

    A binary search: once a prefix of the model fails validation every longer
    prefix fails too (an element never repairs an earlier fault), so the
    search needs log2(n) validations rather than n (a model of a thousand
    constructs with a cycle is located in ten, not a thousand).
    """

    def fails(k: int) -> bool:
        try:
            build(k)
        except SpecError:
            return True
        return False

    if n < 1 or not fails(n):
        return None
    lo, hi = 1, n  # fails(hi) holds; find the smallest such k
    while lo < hi:
        mid = (lo + hi) // 2
        if fails(mid):
            hi = mid
        else:
            lo = mid + 1
    return lo - 1


def parse_lavaan(text: str, name: str = "model") -> ModelSpec:
    """Compile lavaan-style model text to a :class:`~csi.spec.model.ModelSpec`.

    Parameters
    ----------
    text
        The model (syntax in the module docstring).
    name
        Model name used when the text has no ``#: name`` directive.

    Returns
    -------
    ModelSpec

    Raises
    ------
    ModelSyntaxError
        Text that cannot be parsed; the message gives line, column, the line and a caret.
    SpecError
        A well-formed model that is inconsistent (unknown construct in a path, cycle, ...);
        the message starts with the offending line where it can be found.
    """
    lines = [ln.removesuffix("\r") for ln in text.split("\n")]
    src = _Source(lines)
    model = _Model()
    directives = _Directives(src, name)
    pending: list[_Tok] = []
    for lineno, line in enumerate(lines, start=1):
        toks, directive = _tokenize(src, lineno, line)
        if directive is not None:
            dcol, dtext = directive
            dtoks, _ = _tokenize(src, lineno, dtext, offset=dcol - 1)
            directives.add(dtoks, lineno, dcol)
        for tok in toks:
            if tok.kind == "op" and tok.text == ";":
                if pending:
                    _statement(src, pending, model)
                pending = []
            else:
                pending.append(tok)
        # A trailing '+' continues the list on the next line.
        if pending and not (pending[-1].kind == "op" and pending[-1].text == "+"):
            _statement(src, pending, model)
            pending = []
    if pending:
        raise src.after(pending[-1], "missing name after '+' at the end of the text")
    if not model.constructs:
        raise SpecError("the model text defines no constructs; declare them with '=~' (reflective) or '<~' (composite)")
    return _assemble(src, model, directives)


def _higher_order(src: _Source, model: _Model) -> set[str]:
    """The constructs whose right-hand side names constructs only (higher-order constructs).

    A statement naming both constructs and items is a syntax error at its first construct.
    """
    out = set()
    for cname, (_, names, line, _tok) in model.constructs.items():
        comps = [n for n in names if n in model.constructs]
        if not comps:
            continue
        if len(comps) < len(names):
            items = [n for n in names if n not in model.constructs]
            raise SpecError(
                f"line {line}: construct {cname!r} is measured by constructs ({', '.join(comps)}) and items "
                f"({', '.join(items)}); a construct is measured by items or, as a higher-order construct, by "
                f"other constructs, not both\n  {src.lines[line - 1]}"
            )
        out.add(cname)
    return out


def _assemble(src: _Source, model: _Model, d: _Directives) -> ModelSpec:
    cnames = list(model.constructs)
    hoc = _higher_order(src, model)
    item_meta: dict[str, dict[str, object]] = {}
    item_line: dict[str, int] = {}
    for cname, (_, items, line, _) in model.constructs.items():
        for it in () if cname in hoc else items:
            item_meta.setdefault(it, {})
            item_line.setdefault(it, line)

    def block_items(n: str) -> list[str]:
        """The items of construct ``n``; a higher-order construct stands for its components' items."""
        names = model.constructs[n][1]
        return [i for c in names for i in block_items(c)] if n in hoc else list(names)

    def expand(toks: list[_Tok]) -> list[str]:
        if not toks:
            return list(item_meta)
        out: list[str] = []
        for tok in toks:
            n = _name(src, tok)
            if n in model.constructs:
                out += block_items(n)
            elif n in item_meta:
                out.append(n)
            else:
                raise src.at(tok, f"{n!r} is neither an item nor a construct of the model")
        return out

    for attrs, toks, line in d.item_ops:
        for it in expand(toks):
            item_meta[it].update(attrs)
            item_line[it] = line
    clabels: dict[str, str] = {}
    for n, label, tok in d.labels:
        if n in model.constructs:
            clabels[n] = label
        elif n in item_meta:
            item_meta[n]["label"] = label
            item_line[n] = tok.line
        else:
            raise src.at(tok, f"{n!r} is neither an item nor a construct of the model")

    def item(n: str) -> Item:
        try:
            return Item(n, **item_meta[n])  # type: ignore[arg-type]
        except SpecError as exc:
            raise SpecError(f"line {item_line[n]}: {exc}") from None

    better: dict[str, str] = {}
    for value, toks in d.better:
        for tok in toks:
            n = _name(src, tok)
            if n not in model.constructs:
                raise src.at(tok, f"{n!r} is not a construct of the model ('better' applies to constructs)")
            better[n] = value

    def construct(cname: str) -> Construct:
        mode, items, line, _ = model.constructs[cname]
        try:
            if cname in hoc:
                return Construct(cname, (), mode, clabels.get(cname, ""), better=better.get(cname, "higher"),
                                 components=tuple(items))  # fmt: skip
            return Construct(cname, tuple(item(i) for i in items), mode, clabels.get(cname, ""),
                             better=better.get(cname, "higher"))  # fmt: skip
        except SpecError as exc:
            if str(exc).startswith("line "):
                raise
            raise SpecError(f"line {line}: {exc}") from None

    constructs = tuple(construct(c) for c in cnames)
    known_paths = {(s, t) for s, t, _ in model.paths}
    for (s, t), (_, tok) in d.signs.items():
        if (s, t) not in known_paths:
            raise src.at(tok, f"sign given for {t} ~ {s}, but the model has no such path")
    paths = tuple(Path(s, t, d.signs.get((s, t), ("?",))[0]) for s, t, _ in model.paths)
    covs = tuple(Covariance(a, b) for a, b, _ in model.covariances)
    mods = []
    for lhs, op, rhs, fixed, label, tok in model.modifiers:
        try:
            mods.append(Modifier(lhs, op, rhs, fixed, label))
        except SpecError as exc:
            raise src.at(tok, str(exc)) from None

    def build(nc: int, np_: int, ncov: int, target: str | None, nmod: int = 0) -> ModelSpec:
        return ModelSpec(
            d.name, constructs[:nc], paths[:np_], target, d.label, covs[:ncov], modifiers=tuple(mods[:nmod])
        )

    try:
        return build(len(constructs), len(paths), len(covs), d.target, len(mods))
    except SpecError as exc:
        for k, m in enumerate(mods):
            try:
                build(len(constructs), len(paths), len(covs), d.target, 0)
            except SpecError:
                break  # the model is wrong without its modifiers: located below
            try:
                ModelSpec(d.name, constructs, paths, d.target, d.label, covs, modifiers=(m,))
            except SpecError as bad:
                raise src.at(model.modifiers[k][5], str(bad)) from None
        # Find the statement that breaks validation by growing the model one element at a time.
        line = None
        k = _locate(lambda k: build(k, 0, 0, None), len(constructs))
        if k is not None:
            line = model.constructs[cnames[k]][2]
        else:
            k = _locate(lambda k: build(len(constructs), k, 0, None), len(paths))
            if k is not None:
                line = model.paths[k][2]
            else:
                k = _locate(lambda k: build(len(constructs), len(paths), k, None), len(covs))
                line = model.covariances[k][2] if k is not None else d.target_line or None
        if line is None:
            raise
        raise SpecError(f"line {line}: {exc}\n  {src.lines[line - 1]}") from None


# --------------------------------------------------------------- renderer
def _fmt_name(n: str) -> str:
    return n if _BARE.fullmatch(n) else json.dumps(n, ensure_ascii=False)


def _fmt_str(s: str) -> str:
    return json.dumps(s, ensure_ascii=False)


def _fmt_num(x: float) -> str:
    if isinstance(x, float) and x.is_integer():
        return str(int(x))
    return repr(x)


def _wrap(head: str, names: list[str]) -> list[str]:
    """``head a + b + ...``, broken after a '+' when the line gets long."""
    lines, cur = [], head + names[0]
    for n in names[1:]:
        if len(cur) + 3 + len(n) > _WRAP:
            lines.append(cur + " +")
            cur = " " * len(head) + n
        else:
            cur += " + " + n
    return [*lines, cur]


def _group(pairs: list[tuple[object, str]]) -> list[tuple[object, list[str]]]:
    """Group item names by value, groups in order of first appearance."""
    out: dict[object, list[str]] = {}
    for value, n in pairs:
        out.setdefault(value, []).append(n)
    return list(out.items())


def render_lavaan(spec: ModelSpec) -> str:
    """Write a spec as lavaan-style text with ``#:`` directives for the metadata.

    ``parse_lavaan(render_lavaan(spec)) == spec`` holds for every valid spec.
    """
    out = [f"#: name {_fmt_str(spec.name)}"]
    if spec.label:
        out.append(f"#: label {_fmt_str(spec.label)}")
    if spec.target is not None:
        out.append(f"#: target {_fmt_name(spec.target)}")
    out += ["", "# measurement model"]
    mods = {m.key: m for m in spec.modifiers}

    def term(op: str, lhs: str, rhs: str) -> str:
        m = mods.get((op, *sorted((lhs, rhs))) if op == "~~" else (op, lhs, rhs))
        if m is None:
            return _fmt_name(rhs)
        pre = "NA" if m.is_free_marker else m.label or _fmt_num(m.fixed)  # type: ignore[arg-type]
        return f"{pre}*{_fmt_name(rhs)}"

    for c in spec.constructs:
        op = "=~" if c.mode == "A" else "<~"
        names = [_fmt_name(k) for k in c.components] if c.components else [term(op, c.name, i) for i in c.item_names]
        out += _wrap(f"{_fmt_name(c.name)} {op} ", names)
    if spec.paths:
        out += ["", "# structural model"]
        run: list[Path] = []
        for p in [*spec.paths, None]:
            # Consecutive paths into one target share a line; order is kept exactly.
            if run and (p is None or p.target != run[0].target):
                out += _wrap(f"{_fmt_name(run[0].target)} ~ ", [term("~", q.target, q.source) for q in run])
                run = []
            if p is not None:
                run.append(p)
    if spec.covariances:
        out += ["", "# residual covariances"]
        out += [f"{_fmt_name(c.left)} ~~ {term('~~', c.left, c.right)}" for c in spec.covariances]

    meta: list[str] = []
    items = spec.items
    for c in spec.constructs:
        if c.label:
            meta.append(f"#: label {_fmt_name(c.name)} {_fmt_str(c.label)}")
    for i in items:
        if i.label:
            meta.append(f"#: label {_fmt_name(i.name)} {_fmt_str(i.label)}")
    lower = [_fmt_name(c.name) for c in spec.constructs if c.better == "lower"]
    if lower:
        meta.append("#: better lower " + " ".join(lower))

    def item_directive(head: Callable[[object], str], pairs: list[tuple[object, str]], skip: object) -> None:
        groups = _group(pairs)
        if skip not in {v for v, _ in pairs}:
            # Every item has a value: state the commonest for all items, then the exceptions.
            groups.sort(key=lambda g: -len(g[1]))
            meta.append(f"#: {head(groups[0][0])}")
            groups = groups[1:]
        for value, names in groups:
            if value != skip:
                meta.append(f"#: {head(value)} " + " ".join(_fmt_name(n) for n in names))

    item_directive(
        lambda v: f"scale {_fmt_num(v[0])} {_fmt_num(v[1])}",  # type: ignore[index]
        [((i.scale_min, i.scale_max) if i.has_scale else None, i.name) for i in items],
        None,
    )
    item_directive(lambda v: f"type {v}", [(i.type, i.name) for i in items], "interval")
    item_directive(lambda v: "reverse", [(i.reverse, i.name) for i in items], False)
    item_directive(
        lambda v: "missing " + " ".join(_fmt_num(x) for x in v),  # type: ignore[attr-defined]
        [(i.missing_codes, i.name) for i in items],
        (),
    )
    for p in spec.paths:
        if p.sign != "?":
            meta.append(f"#: sign {_fmt_name(p.target)} ~ {_fmt_name(p.source)} {p.sign}")
    if meta:
        out += ["", "# metadata (lavaan reads these as comments)", *meta]
    return "\n".join(out) + "\n"
