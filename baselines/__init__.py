"""Parameter-free location encoders. Importing this package registers them (no heavy imports).

``direct``, ``cartesian3d``, ``wrap`` (direct.py); ``theory``, ``grid``, ``sphereC``,
``sphereC+``, ``sphereM``, ``sphereM+`` (space2vec.py); ``sh`` (sh.py, also the spherical
harmonics used by the SatCLIP encoder); ``rff`` (rff.py); ``random`` (noise.py, a noise
control); ``constant`` (constant.py, the label-only reference: no location). All take (lon, lat) degrees, longitude first.
"""
from . import constant, direct, noise, rff, sh, space2vec  # noqa: F401  (registration side effects)
