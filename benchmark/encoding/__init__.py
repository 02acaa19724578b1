"""Location encoders: the protocol and registry (:mod:`.encoder`) and the embedding cache (:mod:`.embed`).

An encoder maps ``(N, 2)`` float64 (lon, lat) degrees to an ``(N, D)`` embedding.
"""
from geobench.encoding.encoder import (ENCODERS, ArrayEncoder, Encoder, EncoderEntry, canonical_spec,
                                       check_embedding, default_encoders, encoder_id, get_encoder,
                                       register_encoder, resolve_spec)

__all__ = ["ENCODERS", "ArrayEncoder", "Encoder", "EncoderEntry", "canonical_spec", "check_embedding",
           "default_encoders", "encoder_id", "get_encoder", "register_encoder", "resolve_spec"]
