"""One tiny generic registry: name -> lazily resolved object.

Built-ins register with the :meth:`Registry.register` decorator when their module is
imported; the registry imports those modules only when a name is first resolved.
Third-party code registers through Python entry points (group ``geobench.<kind>``)
or ``--plugin module`` (see :func:`load_plugin`).
"""
from __future__ import annotations

import difflib
import importlib
import warnings
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import Any, Callable, Generic, Iterable, TypeVar

from geobench.errors import DuplicateNameError, UnknownNameError

T = TypeVar("T")


@dataclass
class Registry(Generic[T]):
    """A name -> object map for one kind of thing (``task``, ``encoder``, ``head``).

    ``builtin_modules`` are imported on first use (they register via the decorator);
    ``entry_point_group`` is scanned once, after them. A name is registered once: a second
    registration raises :class:`DuplicateNameError` unless ``override=True`` (re-running the
    same definition, e.g. a module reload, is not a duplicate). An entry point that fails to
    load is reported by name (a warning, and an error when that name is asked for) and never
    breaks other lookups. ``on_entry_point(name, obj)`` adapts an entry point's object.
    """

    kind: str
    builtin_modules: tuple[str, ...] = ()
    entry_point_group: str | None = None
    on_entry_point: Callable[[str, Any], T] | None = None
    _items: dict[str, T] = field(default_factory=dict)
    _broken: dict[str, str] = field(default_factory=dict)
    _loaded: bool = False

    def register(self, name: str, obj: T | None = None, *, override: bool = False) -> Any:
        """Register ``obj`` under ``name``; usable as ``@registry.register("name")``.

        The built-in modules are loaded first, so a registration under a built-in's name (a
        ``--plugin``) is caught as a duplicate whatever the import order."""
        self._load()
        if obj is not None:
            self._add(name, obj, override)
            return obj

        def deco(o: T) -> T:
            self._add(name, o, override)
            return o

        return deco

    def _add(self, name: str, obj: T, override: bool = False) -> None:
        if not name or ":" in name or "," in name:
            raise ValueError(f"invalid {self.kind} name {name!r}: no ':' or ',' allowed")
        old = self._items.get(name)
        if old is not None and not override and _defined_at(old) != _defined_at(obj):
            raise DuplicateNameError(
                f"{self.kind} {name!r} is already registered (by {_defined_at(old)}); {_defined_at(obj)} cannot "
                f"register it again. Choose another name, or pass override=True to replace it on purpose")
        self._items[name] = obj
        self._broken.pop(name, None)

    def _load(self) -> None:
        if self._loaded:
            return
        self._loaded = True
        for mod in self.builtin_modules:
            importlib.import_module(mod)
        if self.entry_point_group:
            for ep in entry_points(group=self.entry_point_group):
                self._load_entry_point(ep)

    def _load_entry_point(self, ep: Any) -> None:
        where = f"entry point {ep.name!r} = {ep.value!r} (group {self.entry_point_group}"
        where += f", package {ep.dist.name})" if getattr(ep, "dist", None) else ")"
        if ep.name in self._items:
            warnings.warn(f"{where} ignored: {self.kind} {ep.name!r} is already registered", stacklevel=3)
            return
        try:
            obj = ep.load()
            # An entry point may name a module (which registers itself) or an object.
            if not isinstance(obj, type(importlib)) and ep.name not in self._items:
                self._add(ep.name, self.on_entry_point(ep.name, obj) if self.on_entry_point else obj)
        except Exception as e:  # a broken third-party package must not break other lookups
            self._broken[ep.name] = f"{where} failed to load: {type(e).__name__}: {e}"
            warnings.warn(self._broken[ep.name] + "; fix or uninstall that package", stacklevel=3)

    def names(self) -> list[str]:
        self._load()
        return sorted(self._items)

    def __contains__(self, name: str) -> bool:
        self._load()
        return name in self._items

    def get(self, name: str) -> T:
        self._load()
        try:
            return self._items[name]
        except KeyError:
            if name in self._broken:
                raise UnknownNameError(f"{self.kind} {name!r} cannot be used: {self._broken[name]}. Fix or "
                                       "uninstall that package") from None
            raise UnknownNameError(unknown_name_message(self.kind, name, self._items)) from None

    def items(self) -> Iterable[tuple[str, T]]:
        self._load()
        return sorted(self._items.items())


def _defined_at(obj: Any) -> str:
    """Where a registered object is defined (``module.qualname`` of the class, factory or builder)."""
    o = getattr(obj, "factory", None) or getattr(obj, "build", None) or obj
    mod, qual = getattr(o, "__module__", None), getattr(o, "__qualname__", None)
    return f"{mod}.{qual}" if mod and qual else repr(o)


def unknown_name_message(kind: str, name: str, valid: Iterable[str]) -> str:
    valid = sorted(valid)
    close = difflib.get_close_matches(name, valid, n=1)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    return f"unknown {kind} {name!r}.{hint} Valid {kind}s: {', '.join(valid)}."


def load_plugin(module: str) -> None:
    """Import ``module`` so that its ``@register_*`` decorators run (``--plugin``).

    Any failure is an :class:`InputError` that says which: the plugin module is not found, a
    module it imports is not installed (named), or the plugin raised while importing (its
    error and the file and line where it happened)."""
    from geobench.errors import InputError

    try:
        importlib.import_module(module)
    except ModuleNotFoundError as e:
        if e.name and (module == e.name or module.startswith(e.name + ".")):
            raise InputError(f"plugin module {module!r} not found: put the folder that holds it on PYTHONPATH "
                             "or install its package") from None
        raise InputError(f"plugin {module!r} imports {e.name!r}, which is not installed: install it "
                         f"(e.g. pip install {(e.name or '?').split('.')[0]}) in this environment") from None
    except Exception as e:  # a syntax error, or anything the plugin raises at import time
        raise InputError(f"plugin {module!r} failed to import: {type(e).__name__}: {_msg(e)} "
                         f"({_where(e)}); fix the plugin or leave out --plugin {module}") from None


def _msg(e: BaseException) -> str:
    return e.msg if isinstance(e, SyntaxError) else str(e)


def _where(e: BaseException) -> str:
    """``file, line N`` of a syntax error, or of the innermost frame of a raised error."""
    if isinstance(e, SyntaxError):
        return f"{e.filename}, line {e.lineno}"
    import traceback

    frames = traceback.extract_tb(e.__traceback__)
    return f"{frames[-1].filename}, line {frames[-1].lineno}" if frames else "unknown location"


def parse_spec(spec: str) -> tuple[str, dict[str, str]]:
    """Parse ``name:key=value:key2=value2`` into ``(name, {key: value})``.

    Values stay strings; the factory converts them. Raises InputError on malformed specs.
    """
    from geobench.errors import InputError

    parts = spec.strip().split(":")
    name, opts = parts[0], {}
    if not name:
        raise InputError(f"empty name in spec {spec!r}; write e.g. 'sh:L=40'")
    for p in parts[1:]:
        if "=" not in p or p.startswith("="):
            raise InputError(
                f"malformed option {p!r} in {spec!r}: options are written name:key=value, e.g. 'sh:L=40'"
            )
        k, v = p.split("=", 1)
        opts[k.strip()] = v.strip()
    return name, opts


def convert_options(
    func: Callable[..., Any], opts: dict[str, str], what: str
) -> dict[str, Any]:
    """Convert string options to the types of ``func``'s keyword defaults.

    Unknown keys raise InputError listing the accepted ones.
    """
    import inspect

    from geobench.errors import InputError

    sig = inspect.signature(func)
    params = {
        k: p for k, p in sig.parameters.items() if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)
    }
    out: dict[str, Any] = {}
    for k, v in opts.items():
        if k not in params:
            raise InputError(
                f"{what} has no option {k!r}. Accepted options: {', '.join(params) or '(none)'}."
            )
        default = params[k].default
        try:
            out[k] = _convert(v, default)
        except ValueError as e:
            raise InputError(f"{what}: option {k}={v!r} is not a valid {type(default).__name__}") from e
    return out


def _convert(v: str, default: Any) -> Any:
    if isinstance(v, str) and isinstance(default, bool):
        if v.lower() in ("1", "true", "yes", "on"):
            return True
        if v.lower() in ("0", "false", "no", "off"):
            return False
        raise ValueError(v)
    if isinstance(default, int) and not isinstance(default, bool):
        return int(v)
    if isinstance(default, float):
        return float(v)
    if isinstance(default, tuple):
        return tuple(float(x) for x in v.split("/"))
    if default is None:  # an optional number: int, else float, else the string
        for conv in (int, float):
            try:
                return conv(v)
            except ValueError:
                pass
    return v
