"""Language-model losses: one package, one internal interface.

* ``cross_entropy``: the fused, vocab-tiled linear cross-entropy
  (``linear_cross_entropy``) and the pieces other LM modules build on
  (``HeadConfig``, ``check_options``, ``head_inputs``, ``token_losses``,
  ``token_values``, ``dlogits``, ``vary_together``, ``finish``).
* ``vocab_parallel``: the same losses with the vocabulary sharded over a mesh
  axis (``shard_map``).

Modules of this package import each other's public names only.
"""
