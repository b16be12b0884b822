"""Bindings that shadow JSONata functions: the versions of an expression that honour them.

In JSONata a binding shadows a function of the same name (jsonata-js looks ``$name`` up in the
evaluation's bindings before its function library), so with a workflow variable ``count``
bound, ``$count`` is its value. jsonata2py resolves function names when it compiles, so the
seam (:mod:`stepline.asl._jsonata`) cannot simply pass the variable. Instead, an expression that
mentions function names (:attr:`~stepline.asl._jsonata_scan.Scan.function_names`) is guarded:
each evaluation checks whether the bindings hold one of those names. When none is held, the
expression runs as compiled; when some are, it runs a version compiled, once per set of names,
with their ``$name`` tokens renamed to aliases
(:func:`~stepline.asl._jsonata_scan.shadow_alias`), on bindings in which each alias reads the
variable's value (:class:`AliasedBindings`). Both engines run the renamed text, so they agree;
an expression that mentions no function name is not guarded and pays nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

from stepline.asl._jsonata_scan import Scan, scan, shadow_alias

__all__ = ["AliasedBindings", "Runner", "Shadowing", "VersionCompiler"]

Runner = Callable[[Mapping[str, Any]], Any]
"""A compiled expression on one engine: ``run(bindings) -> value or UNDEFINED``."""

VersionCompiler = Callable[[Scan, Mapping[str, str], bool], Runner]
"""``compile(found, aliases, use_fast)``: a runner for the renamed text ``found.renamed``,
taking :class:`AliasedBindings` built with ``aliases`` (alias -> variable name), with the fast
path when ``use_fast``."""


class AliasedBindings(Mapping[str, Any]):
    """Bindings plus the aliases of shadowing variables (alias -> the variable's value)."""

    __slots__ = ("_aliases", "_bindings")

    def __init__(self, bindings: Mapping[str, Any], aliases: Mapping[str, str]) -> None:
        self._bindings = bindings
        self._aliases = aliases

    def __getitem__(self, name: str) -> Any:
        return self._bindings[self._aliases.get(name, name)]

    def __contains__(self, name: object) -> bool:
        return name in self._aliases or name in self._bindings

    def __iter__(self) -> Iterator[str]:
        yield from self._bindings
        yield from self._aliases

    def __len__(self) -> int:
        return len(self._bindings) + len(self._aliases)


class Shadowing:
    """The versions of one expression in which bindings shadow some of its function names.

    Args:
        text: The expression as written.
        names: The function names it mentions (at least one).
        compile_version: Builds a version from the renamed scan (see :data:`VersionCompiler`).
    """

    __slots__ = ("_compile_version", "_names", "_text", "_versions")

    def __init__(self, text: str, names: tuple[str, ...], compile_version: VersionCompiler) -> None:
        self._text = text
        self._names = names
        self._compile_version = compile_version
        # (shadowed names, use_fast) -> runner taking the caller's bindings. Filled on demand;
        # two threads may both compile a version, and either result is right.
        self._versions: dict[tuple[frozenset[str], bool], Runner] = {}

    def guard(self, plain: Runner, *, use_fast: bool) -> Runner:
        """``plain`` when no binding shadows a function name, else the right version."""
        names = self._names
        shadowed_run = self._run
        if len(names) == 1:  # the common case, unrolled: one membership test per run
            (only,) = names

            def run_one(bindings: Mapping[str, Any]) -> Any:
                if only in bindings:
                    return shadowed_run(bindings, use_fast)
                return plain(bindings)

            return run_one

        def run(bindings: Mapping[str, Any]) -> Any:
            for name in names:
                if name in bindings:
                    return shadowed_run(bindings, use_fast)
            return plain(bindings)

        return run

    def _run(self, bindings: Mapping[str, Any], use_fast: bool) -> Any:
        shadowed = frozenset(name for name in self._names if name in bindings)
        version = self._versions.get((shadowed, use_fast))
        if version is None:
            aliases = {shadow_alias(name): name for name in shadowed}
            found = scan(self._text, shadowed)
            version = self._compile_version(found, aliases, use_fast)
            self._versions[shadowed, use_fast] = version
        return version(bindings)
