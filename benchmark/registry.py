"""One tiny generic registry: name -> lazily resolved object.

Built-ins register with the :meth:`Registry.register` decorator when their module is
imported; the registry imports those modules only when a name is first resolved.
Third-party code registers through Python entry points (group ``geobench.<kind>``)
or ``--plugin module`` (see :func:`load_plugin`).
"""
from __future__ import annotations

import difflib
import importlib
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import Any, Callable, Generic, Iterable, TypeVar

from geobench.errors import UnknownNameError

T = TypeVar("T")


@dataclass
class Registry(Generic[T]):
    """A name -> object map for one kind of thing (``task``, ``encoder``, ``head``).

    ``builtin_modules`` are imported on first lookup (they register via the decorator);
    ``entry_point_group`` is scanned once, after them.
    """

    kind: str
    builtin_modules: tuple[str, ...] = ()
    entry_point_group: str | None = None
    _items: dict[str, T] = field(default_factory=dict)
    _loaded: bool = False

    def register(self, name: str, obj: T | None = None) -> Any:
        """Register ``obj`` under ``name``; usable as ``@registry.register("name")``.

        The built-in modules are loaded first, so a later registration under a built-in's name
        (a ``--plugin``) replaces the built-in, whatever the import order."""
        self._load()
        if obj is not None:
            self._add(name, obj)
            return obj

        def deco(o: T) -> T:
            self._add(name, o)
            return o

        return deco

    def _add(self, name: str, obj: T) -> None:
        if not name or ":" in name or "," in name:
            raise ValueError(f"invalid {self.kind} name {name!r}: no ':' or ',' allowed")
        self._items[name] = obj

    def _load(self) -> None:
        if self._loaded:
            return
        self._loaded = True
        for mod in self.builtin_modules:
            importlib.import_module(mod)
        if self.entry_point_group:
            for ep in entry_points(group=self.entry_point_group):
                if ep.name in self._items:
                    continue
                obj = ep.load()
                # An entry point may point at a module (which registers itself) or an object.
                if not isinstance(obj, type(importlib)) and ep.name not in self._items:
                    self._add(ep.name, obj)

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
            raise UnknownNameError(unknown_name_message(self.kind, name, self._items)) from None

    def items(self) -> Iterable[tuple[str, T]]:
        self._load()
        return sorted(self._items.items())


def unknown_name_message(kind: str, name: str, valid: Iterable[str]) -> str:
    valid = sorted(valid)
    close = difflib.get_close_matches(name, valid, n=1)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    return f"unknown {kind} {name!r}.{hint} Valid {kind}s: {', '.join(valid)}."


def load_plugin(module: str) -> None:
    """Import ``module`` so that its ``@register_*`` decorators run (``--plugin``)."""
    try:
        importlib.import_module(module)
    except ImportError as e:
        raise UnknownNameError(
            f"cannot import plugin module {module!r}: {e}. Put it on PYTHONPATH or install it."
        ) from e


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
    return v
