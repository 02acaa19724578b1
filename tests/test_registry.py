"""Registries: a name is registered once (override=True to replace), a broken entry point is
reported by name without breaking other lookups, and heads from entry points get their names."""
from __future__ import annotations

import textwrap

import numpy as np
import pytest

from geobench.encoding import ENCODERS, ArrayEncoder, register_encoder
from geobench.errors import DuplicateNameError, UnknownNameError
from geobench.heads.base import HEADS, Head, _name_head, register_head
from geobench.registry import Registry
from geobench.tasks.base import TaskSpec, register_task


def _factory():
    return ArrayEncoder("x", 1, lambda x: x[:, :1], {})


def test_a_builtin_name_cannot_be_taken_silently():
    with pytest.raises(DuplicateNameError, match=r"encoder 'sh' is already registered \(by geobench\.baselines\.sh"):
        register_encoder("sh", kind="plugin")(_factory)
    with pytest.raises(DuplicateNameError, match="head 'linear' is already registered.*override=True"):
        register_head("linear")(type("MyLinear", (Head,), {}))
    spec = TaskSpec("air_temperature", "regression", "y", "1", "d", "c", "same data", ())
    with pytest.raises(DuplicateNameError, match="task 'air_temperature' is already registered"):
        register_task(spec)(lambda: None)
    assert ENCODERS.get("sh").kind == "parameter-free"  # untouched


def test_override_replaces_and_the_same_definition_may_register_again():
    try:
        register_encoder("_reg_enc", kind="plugin")(_factory)
        register_encoder("_reg_enc", kind="plugin")(_factory)  # the same definition again (a reload)
        register_encoder("_reg_enc", kind="user", override=True)(lambda: _factory())
        assert ENCODERS.get("_reg_enc").kind == "user"
        with pytest.raises(DuplicateNameError):
            register_encoder("_reg_enc", kind="plugin")(_factory)
    finally:
        ENCODERS._items.pop("_reg_enc", None)


def test_plugin_shadowing_a_builtin_fails_with_a_clear_cli_error(tmp_path, monkeypatch, capsys):
    from geobench.cli import main

    (tmp_path / "shadow_sh.py").write_text(textwrap.dedent("""
        from geobench.encoding import ArrayEncoder, register_encoder

        @register_encoder("sh", kind="plugin")
        def sh():
            return ArrayEncoder("sh", 1, lambda x: x[:, :1], {})
    """))
    monkeypatch.syspath_prepend(str(tmp_path))
    assert main(["list", "encoders", "--plugin", "shadow_sh"]) == 2
    err = capsys.readouterr().err
    assert "encoder 'sh' is already registered" in err and "shadow_sh.sh" in err and "override=True" in err


@pytest.fixture
def fake_distribution(tmp_path, monkeypatch):
    """An installed package with one broken encoder entry point and one head entry point."""
    dist = tmp_path / "geobench_fake_plugin-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: geobench-fake-plugin\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(
        "[geobench.encoders]\nbroken_enc = no_such_module_xyz:factory\n\n"
        "[geobench.heads]\nmy_head = fake_heads_mod:MyHead\n")
    (tmp_path / "fake_heads_mod.py").write_text(textwrap.dedent("""
        from geobench.heads.linear import LinearHead

        class MyHead(LinearHead):
            '''A plugin head.'''
    """))
    monkeypatch.syspath_prepend(str(tmp_path))
    return tmp_path


def test_broken_entry_point_is_reported_by_name_and_breaks_nothing_else(fake_distribution):
    reg = Registry("encoder", entry_point_group="geobench.encoders")
    with pytest.warns(UserWarning, match=r"entry point 'broken_enc' = 'no_such_module_xyz:factory'.*geobench-fake-plugin"):
        reg.register("good", _factory)  # registering loads the entry points first
    assert reg.names() == ["good"] and reg.get("good") is _factory
    with pytest.raises(UnknownNameError, match="encoder 'broken_enc' cannot be used.*ModuleNotFoundError.*uninstall"):
        reg.get("broken_enc")


def test_head_from_an_entry_point_gets_its_name(fake_distribution):
    reg = Registry("head", entry_point_group="geobench.heads", on_entry_point=_name_head)
    cls = reg.get("my_head")
    assert cls.__name__ == "MyHead" and cls.name == "my_head"
    head = cls(kind="regression", seed=0)
    X = np.random.default_rng(0).normal(size=(40, 3))
    head.fit(X, X @ [1.0, 2.0, 0.5])
    assert head.name == "my_head" and "linear" in HEADS.names()
