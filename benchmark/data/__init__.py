"""Declared data files: the manifest, fetching into the cache, verification by sha256.

``geobench.data.fetch(name)`` returns the verified cached path of a declared file.
"""
from geobench.data.declared import DataFile, Source, npm, pypi, url
from geobench.data.fetching import cache_path, check_file, checksums, declared, fetch, get_declared, is_cached, verify

__all__ = ["DataFile", "Source", "cache_path", "check_file", "checksums", "declared", "fetch", "get_declared",
           "is_cached", "npm", "pypi", "url", "verify"]
