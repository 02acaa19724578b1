"""Build hook: stamp the package with the commit it is built from (everything else is in pyproject.toml).

Building a wheel writes ``geobench/_build.py`` (``VERSION``, ``COMMIT``, ``DIFF_SHA256``,
``DIRTY_FILES``) into it, from ``$GEOBENCH_BUILD_COMMIT`` if set, else from the git checkout
this file is in; an sdist carries the same stamp as ``benchmark/_build.py``, which a wheel built
from it keeps. ``geobench.provenance`` reads the stamp when it does not run from a checkout.
The logic is ``geobench.provenance.build_info``/``stamp_text``, loaded here by path.
"""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py
from setuptools.command.sdist import sdist

HERE = Path(__file__).resolve().parent
STAMP = "_build.py"  # in the geobench package, i.e. benchmark/ in the sources


def _provenance():
    spec = importlib.util.spec_from_file_location("_geobench_build_provenance", HERE / "benchmark" / "provenance.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    return mod


class BuildPy(build_py):
    def run(self):
        super().run()
        if getattr(self, "editable_mode", False):  # an editable install reads git at run time
            return
        prov = _provenance()
        info = prov.build_info(HERE)
        target = Path(self.build_lib) / "geobench" / STAMP
        if info is None and target.exists():  # built from an sdist: keep the sdist's stamp
            return
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(prov.stamp_text(self.distribution.get_version(), info))


class Sdist(sdist):
    def make_release_tree(self, base_dir, files):
        super().make_release_tree(base_dir, files)
        prov = _provenance()
        info = prov.build_info(HERE)
        target = Path(base_dir) / "benchmark" / STAMP
        if info is None and target.exists():
            return
        target.unlink(missing_ok=True)  # may be a hard link to the source file
        target.write_text(prov.stamp_text(self.distribution.get_version(), info))


setup(cmdclass={"build_py": BuildPy, "sdist": Sdist})
