"""Language-model losses: one package, one internal interface.

* ``head``: the chunked LM head every fused loss shares (the logits of one
  vocabulary chunk, the soft cap, the backward pass into ``x``, ``w`` and
  ``b``, flattening tokens into rows, the head's argument checks); the
  generic tiling (scan over tiles, online log-sum-exp, cross-device
  combine, custom-VJP scaffolding) is :mod:`jaxloss._src.tiling`, shared
  with the contrastive losses.
* ``cross_entropy``: the fused, vocab-tiled linear cross-entropy
  (``linear_cross_entropy``) and its per-token statistics, which the
  vocab-parallel forms reuse.
* ``vocab_parallel``: the same losses with the vocabulary sharded over a mesh
  axis (``shard_map``).
* ``log_probs``: fused per-token log-probabilities and entropy (also
  vocab-parallel), the primitive of the post-training losses.
* ``preference`` (DPO, SimPO, CPO, ORPO, KTO), ``policy`` (PPO, GRPO, DAPO,
  Dr. GRPO) and ``distillation`` (logits, fused two-head, top-k).
* ``segments``: packed sequences (``segment_ids``), the one per-sequence
  reduction of every sequence-level loss; ``multi_token``: multi-token
  prediction on the fused kernel; ``router``: MoE router losses.

Modules of this package import each other's public names only.
"""
