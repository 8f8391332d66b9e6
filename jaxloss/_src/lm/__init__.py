"""Language-model losses: one package, one internal interface.

* ``cross_entropy``: the fused, vocab-tiled linear cross-entropy
  (``linear_cross_entropy``) and the pieces other LM modules build on
  (``HeadConfig``, ``check_options``, ``head_inputs``, ``token_losses``,
  ``token_values``, ``dlogits``, ``vary_together``, ``finish``).
* ``vocab_parallel``: the same losses with the vocabulary sharded over a mesh
  axis (``shard_map``).
* ``log_probs``: fused per-token log-probabilities and entropy (also
  vocab-parallel), the primitive of the post-training losses.
* ``preference`` (DPO, SimPO, CPO, ORPO, KTO), ``policy`` (PPO, GRPO, DAPO,
  Dr. GRPO) and ``distillation`` (logits, fused two-head, top-k).

Modules of this package import each other's public names only.
"""
