"""LM-head losses: fused log-probabilities, post-training and distillation."""
