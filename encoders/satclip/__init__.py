"""SatCLIP (Klemmer et al.): SH + SIREN location encoder, official-format checkpoints, and the
towers the pretraining (:mod:`geobench.encoders.pretraining`) builds on. Import
``geobench.encoders.satclip.register`` to register the encoders (done by ``geobench.encoders``);
nothing heavy is imported here."""
