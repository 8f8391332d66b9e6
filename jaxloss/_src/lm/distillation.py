"""Knowledge distillation between a teacher's and a student's next-token
distributions: on logits, fused with both LM heads (never building either
``[N, V]`` logits), and from a teacher's stored top-k log-probabilities.

Conventions shared by every function here. With temperature ``T``, student
``q = softmax(s / T)`` and teacher ``p = softmax(t / T)``, per token::

  forward_kl:  KL(p || q) = sum_v p_v (log p_v - log q_v)
  reverse_kl:  KL(q || p) = sum_v q_v (log q_v - log p_v)
  jsd:         beta KL(p || m) + (1 - beta) KL(q || m),
               m = beta p + (1 - beta) q,  0 < beta < 1;
               beta = 0: KL(p || q), beta = 1: KL(q || p)
  tv:          (1/2) sum_v |p_v - q_v|

``beta`` is the weight of the *teacher* in the mixture (``beta = 0.5`` is the
symmetric Jensen–Shannon divergence). This is the generalised JSD of Agarwal
et al. (GKD) with TRL's labelling of ``beta``. Its endpoints are, as in TRL's
``GKDTrainer`` and Liger-Kernel's JSD, the forward KL (``beta = 0``) and the
reverse KL (``beta = 1``) rather than the formula's limit (which vanishes).
The teacher is a constant: no gradient flows to the teacher's logits,
embeddings or weight. No ``T ** 2`` factor is applied (Hinton et al.
multiply by it to keep gradient scales; do so outside if wanted).

A teacher whose vocabulary is larger than the student's ``V`` (a padded
vocabulary: the same tokenizer, with the embedding table rounded up) gives
logits ``[..., V_t]`` with ``V_t > V``: the columns past ``V`` are dropped,
so the teacher's distribution is its softmax over the ``V`` shared ids. A
smaller teacher vocabulary is an error.
"""

from __future__ import annotations

from typing import NamedTuple
from typing import cast

import jax
from jax import core as jax_core
from jax import lax
import jax.numpy as jnp

from jaxloss._src import domains
from jaxloss._src import numerics
from jaxloss._src import reduction as reduction_lib
from jaxloss._src import shapes
from jaxloss._src import tiling
from jaxloss._src import validation
from jaxloss._src.lm import head
from jaxloss._src.lm import log_probs as lp_lib
from jaxloss._src.lm import segments
from jaxloss._src.scoping import scoped
from jaxloss._src.typing import InputLike

DIVERGENCES = ("forward_kl", "reverse_kl", "jsd", "tv")
# TRL's bound on the log of the support's mass before the tail bucket is
# formed (the tail keeps at least 1e-7 of the mass).
_TAIL_LOG_MASS_MAX = -1e-7


def _check_divergence(caller, divergence, beta, temperature):
  validation.choice(caller, "divergence", divergence, DIVERGENCES)
  validation.check_range(caller, "beta", beta, 0.0, 1.0)
  validation.check_range(
    caller, "temperature", temperature, low=0.0, low_open=True
  )


def resolve_divergence(divergence, beta):
  """The JSD's endpoints as the KL divergences they stand for: ``jsd`` with
  a concrete ``beta`` of 0 is ``forward_kl``, of 1 ``reverse_kl``."""
  if divergence != "jsd" or isinstance(beta, jax_core.Tracer):
    return divergence
  b = float(beta)
  if b == 0.0:
    return "forward_kl"
  if b == 1.0:
    return "reverse_kl"
  return divergence


def _summand(divergence, beta, log_p, log_q):
  """The divergence's per-entry summand, for a concrete or traced
  ``beta``."""
  if divergence == "jsd" and isinstance(beta, jax_core.Tracer):
    return _jsd_traced_beta(beta, log_p, log_q)
  return _elementwise(divergence, beta, log_p, log_q)[0]


def _jsd_traced_beta(beta, log_p, log_q):
  """The JSD summand for a traced ``beta``, its endpoints included (both
  KLs computed, one selected)."""
  b = jnp.asarray(beta, log_p.dtype)
  inner = jnp.clip(b, jnp.finfo(log_p.dtype).tiny, 1 - jnp.finfo(b.dtype).eps)
  d, _ = _elementwise("jsd", inner, log_p, log_q)
  fwd, _ = _elementwise("forward_kl", 0.0, log_p, log_q)
  rev, _ = _elementwise("reverse_kl", 1.0, log_p, log_q)
  return jnp.where(b == 0, fwd, jnp.where(b == 1, rev, d))


def teacher_columns(caller, name, teacher, vocab, axis):
  """The first ``vocab`` entries of the teacher's ``axis`` (a padded
  teacher vocabulary); an error when it has fewer."""
  size = teacher.shape[axis]
  if size < vocab:
    raise ValueError(
      f"{caller}: {name} must have at least the student's vocabulary size "
      f"{vocab} on axis {axis} (extra teacher columns are dropped), got "
      f"{name}.shape={tuple(teacher.shape)}"
    )
  if size == vocab:
    return teacher
  return lax.slice_in_dim(teacher, 0, vocab, axis=axis % teacher.ndim)


def log1m_mass(log_mass):
  """``log(1 - exp(log_mass))``, the log of the mass outside a support
  whose log-mass is ``log_mass``, with ``log_mass`` first bounded by
  ``-1e-7`` (as TRL's tail bucket does)."""
  x = jnp.minimum(log_mass, _TAIL_LOG_MASS_MAX)
  return jnp.log(-jnp.expm1(x))


def topk_support(z, k):
  """Bool mask ``[..., V]`` of the ``k`` largest entries of ``z``'s last
  axis (ties: the lower index first, as ``lax.top_k``)."""
  flat = lax.stop_gradient(z).reshape((-1, z.shape[-1]))
  _, idx = lax.top_k(flat, k)
  rows = jnp.arange(flat.shape[0])[:, None]
  mask = jnp.zeros(flat.shape, bool).at[rows, idx].set(True)
  return mask.reshape(z.shape)


def support_divergence(divergence, beta, log_p, log_q, support, tail):
  """Per-token divergence between ``p`` and ``q`` restricted to ``support``
  (bool ``[..., V]``): over the support's entries plus one tail class
  holding the mass outside it (``tail``), or over the support renormalised
  (not ``tail``)."""
  lse_p = numerics.masked_logsumexp(log_p, support)
  lse_q = numerics.masked_logsumexp(log_q, support)
  if tail:
    d = _summand(divergence, beta, log_p, log_q)
    d_tail = _summand(divergence, beta, log1m_mass(lse_p), log1m_mass(lse_q))
    return jnp.sum(jnp.where(support, d, 0), axis=-1) + d_tail
  d = _summand(
    divergence, beta, log_p - lse_p[..., None], log_q - lse_q[..., None]
  )
  return jnp.sum(jnp.where(support, d, 0), axis=-1)


def _elementwise(divergence, beta, log_p, log_q):
  """``(D_v, a_v)``: the divergence's summand and ``q_v dD/dq_v`` (whose
  sum ``A`` gives the student-logit gradient ``(a_v - q_v A) / T``)."""
  # Entries with no mass (a masked -inf logit) add 0, never 0 * inf.
  p, q = jnp.exp(log_p), jnp.exp(log_q)
  if divergence == "forward_kl":
    return numerics.xlog_ratio(p, log_p, log_q), -p
  if divergence == "reverse_kl":
    d = numerics.xlog_ratio(q, log_q, log_p)
    return d, d
  if divergence == "jsd":
    # No mass in either (both masked): m = 0, kept out of logaddexp, whose
    # gradient at (-inf, -inf) is NaN.
    none = (p == 0) & (q == 0)
    log_m = jnp.logaddexp(
      jnp.log(beta) + jnp.where(none, 0, log_p),
      jnp.log1p(-beta) + jnp.where(none, 0, log_q),
    )
    a = (1 - beta) * numerics.xlog_ratio(q, log_q, log_m)
    return beta * numerics.xlog_ratio(p, log_p, log_m) + a, a
  return 0.5 * jnp.abs(p - q), 0.5 * q * jnp.sign(q - p)


# ------------------------------------------------------------ on logits


@scoped
def distillation(
  student_logits: InputLike,
  teacher_logits: InputLike,
  *,
  divergence: str = "forward_kl",
  beta: float | jax.Array = 0.5,
  temperature: float | jax.Array = 1.0,
  where: InputLike | None = None,
  top_k: int | None = None,
  tail: bool = True,
) -> jax.Array:
  """Per-token divergence between teacher and student next-token
  distributions, from logits.

  The divergences, the ``beta`` convention and the temperature are those of
  the module docstring (:mod:`jaxloss._src.lm.distillation`): with
  ``p = softmax(teacher / T)`` and ``q = softmax(student / T)``,
  ``forward_kl`` is ``KL(p || q)``, ``reverse_kl`` is ``KL(q || p)``,
  ``jsd`` is ``beta KL(p || m) + (1 - beta) KL(q || m)`` with ``m = beta p
  + (1 - beta) q`` (``beta = 0``: forward KL, ``beta = 1``: reverse KL),
  ``tv`` is ``sum |p - q| / 2``. The teacher gets no gradient. Reduce the
  values with :func:`jaxloss.reduce`.

  With ``top_k = k`` (smaller than ``V``), the divergence is taken on a
  support ``S`` of the vocabulary instead: the teacher's top-k ids for the
  forward KL, the student's top-k for the reverse KL, the union of both for
  JSD (``0 < beta < 1``) and TV. With ``tail`` (the default) both
  distributions keep their probabilities on ``S`` and gain one extra class,
  the mass outside ``S`` (``log(1 - exp(lse_S))``, with ``lse_S`` bounded
  by ``-1e-7``); without it both are renormalised over ``S``. This is the
  top-k loss of TRL's on-policy distillation trainers (``loss_top_k``,
  ``loss_add_tail``); the support is chosen without gradient. With the
  tail, every divergence here is at most its full-vocabulary value (the
  data-processing inequality). A teacher with more columns than the student
  is truncated to the student's ``V`` (module docstring).

  Args:
    student_logits: ``[..., V]``.
    teacher_logits: ``[..., V_t]`` with ``V_t >= V`` (columns past ``V``
      are dropped).
    divergence: ``"forward_kl"``, ``"reverse_kl"``, ``"jsd"`` or ``"tv"``.
    beta: teacher weight in the JSD mixture, in ``[0, 1]`` (0: forward KL,
      1: reverse KL).
    temperature: positive; both logits are divided by it.
    where: optional bool ``[...]``; masked tokens give 0.
    top_k: size of the top-k supports, or None (the whole vocabulary).
    tail: with ``top_k``, add the tail class (else renormalise over the
      support).

  Returns:
    Per-token values ``[...]`` in the student logits' dtype (computed in
    float32 for half inputs).

  Raises:
    TypeError: for non-floating logits or a non-boolean mask.
    ValueError: for mismatched shapes or bad options.

  Examples:
    >>> import jaxloss
    >>> jaxloss.distillation([[0.0, 0.0]], [[0.0, 1.0]])
    Array([0.11094414], dtype=float32)

  References:
    Hinton, Vinyals and Dean, "Distilling the Knowledge in a Neural
    Network", 2015 (arXiv:1503.02531). Agarwal et al., "On-Policy
    Distillation of Language Models: Learning from Self-Generated Mistakes"
    (GKD), ICLR 2024 (arXiv:2306.13649), section 3. Gu et al., "MiniLLM",
    ICLR 2024 (reverse KL). Wen et al., "f-Divergence Minimization for
    Sequence-Level Knowledge Distillation", ACL 2023 (total variation).
    TRL (huggingface/trl 1.10.0.dev0), ``GKDTrainer.generalized_jsd_loss``
    (endpoints) and ``IWOPDTrainer.generalized_jsd_loss`` (top-k supports
    and the tail bucket).
  """
  caller = "distillation"
  _check_divergence(caller, divergence, beta, temperature)
  validation.positive_integer(caller, "top_k", top_k, optional=True)
  validation.flag(caller, "tail", tail)
  divergence = resolve_divergence(divergence, beta)
  s = numerics.as_float(caller, "student_logits", student_logits)
  t = numerics.as_float(caller, "teacher_logits", teacher_logits)
  shapes.check_min_rank(caller, "student_logits", s, 1)
  if t.shape[:-1] != s.shape[:-1] or t.ndim != s.ndim:
    raise ValueError(
      f"{caller}: teacher_logits must have the leading shape of "
      f"student_logits {s.shape[:-1]}, got "
      f"teacher_logits.shape={tuple(t.shape)}"
    )
  t = teacher_columns(caller, "teacher_logits", t, s.shape[-1], -1)
  out_dtype = s.dtype
  acc = numerics.compute_dtype(jnp.result_type(s, t))
  mask = _mask(
    caller, where, s.shape[:-1], "(the logits without their last axis)"
  )
  s, t = s.astype(acc), lax.stop_gradient(t).astype(acc)
  if mask is not None:  # masked rows: 0 in value and gradient, even NaN ones
    s, t = _masked_rows(mask, s), _masked_rows(mask, t)
  log_q = jax.nn.log_softmax(s / temperature, axis=-1)
  log_p = jax.nn.log_softmax(t / temperature, axis=-1)
  if top_k is not None and top_k < s.shape[-1]:
    if divergence == "forward_kl":
      support = topk_support(log_p, top_k)
    elif divergence == "reverse_kl":
      support = topk_support(log_q, top_k)
    else:
      support = topk_support(log_p, top_k) | topk_support(log_q, top_k)
    values = support_divergence(divergence, beta, log_p, log_q, support, tail)
  else:
    values = jnp.sum(_summand(divergence, beta, log_p, log_q), axis=-1)
  if mask is not None:
    values = jnp.where(mask, values, 0)
  return values.astype(out_dtype)


def _masked_rows(mask, x):
  """``x [..., V]`` with the rows that ``mask [...]`` excludes set to 0
  before any nonlinearity, so a NaN there reaches neither the value nor the
  gradient."""
  return jnp.where(mask[..., None], x, 0)


# ------------------------------------------------------------ fused heads


class DistillConfig(NamedTuple):
  chunk: int
  temperature: float
  divergence: str
  beta: float
  axis_name: object = None  # the mesh axis the vocabulary is sharded over


def _tiles(cfg, xs, ws, xt, wt, start, size, acc):
  """Raw student logits, and the scaled student and teacher logits."""
  zs = head.chunk_logits(xs, ws, None, start, size, acc)
  zt = head.chunk_logits(xt, wt, None, start, size, acc)
  if cfg.temperature == 1.0:
    return zs, zs, zt
  inv = 1.0 / cfg.temperature
  return zs, zs * inv, zt * inv


def _pass_lse(cfg, xs, ws, xt, wt, labels, acc):
  """Per-token ``(lse_s, lse_t, lse_raw, raw target logit, A0)``, where
  ``A0`` is the one-pass divergence numerator for the KL divergences."""
  n = xs.shape[0]
  scaled = cfg.temperature != 1.0
  fwd = cfg.divergence == "forward_kl"
  rev = cfg.divergence == "reverse_kl"
  labels = labels - head.vocab_offset(cfg.axis_name, ws.shape[1])

  def step(carry, start, size):
    st_s, st_t, st_r, tgt, acc_kl = carry
    zs, s, t = _tiles(cfg, xs, ws, xt, wt, start, size, acc)
    st_s, a_s, es = tiling.lse_add(st_s, s)
    st_t, a_t, et = tiling.lse_add(st_t, t)
    # The KL numerator is a sum weighted by the teacher's (forward) or the
    # student's (reverse) exponentials: it rescales like their sums. An
    # entry with no weight (a -inf logit) adds 0, never 0 * inf.
    if fwd:
      acc_kl = acc_kl * a_t + jnp.sum(jnp.where(et > 0, et * (t - s), 0), -1)
    elif rev:
      acc_kl = acc_kl * a_s + jnp.sum(jnp.where(es > 0, es * (s - t), 0), -1)
    if scaled:
      st_r, _, _ = tiling.lse_add(st_r, zs)
    tgt = tgt + head.pick(zs, labels[:, None] - start)[:, 0]
    return st_s, st_t, st_r, tgt, acc_kl

  zeros = jnp.zeros((n,), acc)
  empty = tiling.lse_start((n,), acc)
  carry = (empty, empty, empty, zeros, zeros)
  st_s, st_t, st_r, tgt, acc_kl = tiling.scan_tiles(
    step, carry, ws.shape[1], cfg.chunk, (xs, ws, xt, wt, labels)
  )
  if cfg.axis_name is not None:
    states = [st_s, st_t] + ([st_r] if scaled else [])
    kl_state = 1 if fwd else 0
    states, (tgt,), rescaled = tiling.lse_across(
      cfg.axis_name,
      states,
      [tgt],
      [(kl_state, acc_kl)] if (fwd or rev) else [],
    )
    st_s, st_t = states[0], states[1]
    st_r = states[2] if scaled else st_r
    acc_kl = rescaled[0] if (fwd or rev) else acc_kl
  lse_s = tiling.finish_lse(st_s.m, st_s.se)
  lse_t = tiling.finish_lse(st_t.m, st_t.se)
  lse_r = tiling.finish_lse(st_r.m, st_r.se) if scaled else lse_s
  if fwd:
    kl = acc_kl / st_t.se - lse_t + lse_s
  elif rev:
    kl = acc_kl / st_s.se - lse_s + lse_t
  else:
    kl = None
  return lse_s, lse_t, lse_r, tgt, kl


def _pass_divergence(cfg, xs, ws, xt, wt, lse_s, lse_t, acc):
  """Second pass for JSD and TV: per-token ``(D, A)``."""
  n = xs.shape[0]

  def step(carry, start, size):
    d_sum, a_sum = carry
    _, s, t = _tiles(cfg, xs, ws, xt, wt, start, size, acc)
    d, a = _elementwise(
      cfg.divergence, cfg.beta, t - lse_t[:, None], s - lse_s[:, None]
    )
    return d_sum + jnp.sum(d, -1), a_sum + jnp.sum(a, -1)

  zeros = jnp.zeros((n,), acc)
  d_sum, a_sum = tiling.scan_tiles(
    step, (zeros, zeros), ws.shape[1], cfg.chunk, (xs, ws, xt, wt, lse_s)
  )
  if cfg.axis_name is not None:
    d_sum, a_sum = tiling.psum_together(cfg.axis_name, d_sum, a_sum)
  return d_sum, a_sum


def _distill_stats(cfg, xs, ws, xt, wt, labels, acc):
  lse_s, lse_t, lse_r, tgt, kl = _pass_lse(cfg, xs, ws, xt, wt, labels, acc)
  if cfg.divergence == "forward_kl":
    assert kl is not None  # _pass_lse returns it for the KL divergences
    div, a_tot = kl, -jnp.ones_like(kl)
  elif cfg.divergence == "reverse_kl":
    assert kl is not None
    div, a_tot = kl, kl
  else:
    div, a_tot = _pass_divergence(cfg, xs, ws, xt, wt, lse_s, lse_t, acc)
  return div, a_tot, lse_s, lse_t, lse_r, tgt


def _distill_outputs(div, lse_r, tgt, valid):
  div = jnp.where(valid, div, 0)
  ce = jnp.where(valid, lse_r - tgt, 0)
  zsq = jnp.where(valid, jnp.square(lse_r), 0)
  return div, ce, zsq


def _distill_fwd(cfg, xs, ws, xt, wt, labels, valid):
  """Per-token ``(divergence, hard-label cross-entropy, lse ** 2)`` of the
  student head ``xs @ ws`` against the teacher head ``xt @ wt``, chunked
  over the vocabulary; the teacher gets no gradient."""
  acc = numerics.compute_dtype(xs.dtype)
  div, a_tot, lse_s, lse_t, lse_r, tgt = _distill_stats(
    cfg, xs, ws, xt, wt, labels, acc
  )
  res = (xs, ws, xt, wt, labels, valid, a_tot, lse_s, lse_t, lse_r)
  return _distill_outputs(div, lse_r, tgt, valid), res


def _distill_bwd(cfg, res, cotangents):
  xs, ws, xt, wt, labels, valid, a_tot, lse_s, lse_t, lse_r = res
  acc = numerics.compute_dtype(xs.dtype)
  g_div, g_ce, g_z = (jnp.where(valid, g.astype(acc), 0) for g in cotangents)
  scaled = cfg.temperature != 1.0
  inv_t = 1.0 / cfg.temperature
  g_raw = g_ce + 2.0 * g_z * lse_r
  labels = labels - head.vocab_offset(cfg.axis_name, ws.shape[1])

  def dz(start, size):
    zs, s, t = _tiles(cfg, xs, ws, xt, wt, start, size, acc)
    log_q = s - lse_s[:, None]
    _, a = _elementwise(cfg.divergence, cfg.beta, t - lse_t[:, None], log_q)
    q = jnp.exp(log_q)
    ds = (g_div * inv_t)[:, None] * (a - q * a_tot[:, None])
    q_raw = jnp.exp(zs - lse_r[:, None]) if scaled else q
    hit = (labels - start)[:, None] == jnp.arange(size)[None, :]
    ds = ds + g_raw[:, None] * q_raw - jnp.where(hit, g_ce[:, None], 0)
    return jnp.where(valid[:, None], ds, 0)

  refs = (xt, wt, labels, g_div)
  dx, dw, _ = head.head_backward(cfg, xs, ws, None, valid, dz, refs)
  return dx, dw, None, None, None, None


fused_distillation = tiling.tiled_vjp(_distill_fwd, _distill_bwd)


@domains.declare(class_ids=domains.ClassIds("labels", "student_weight", axis=1))
@scoped
def linear_distillation(
  student_embeddings: InputLike,
  student_weight: InputLike,
  teacher_embeddings: InputLike,
  teacher_weight: InputLike,
  labels: InputLike,
  *,
  divergence: str = "forward_kl",
  beta: float = 0.5,
  temperature: float = 1.0,
  hard_label_weight: float = 0.0,
  z_loss: float = 0.0,
  ignore_index: int = -100,
  reduction: str | None = "mean",
  normalizer: InputLike | None = None,
  chunk_size: int | None = None,
  return_components: bool = False,
  segment_ids: InputLike | None = None,
) -> jax.Array | tuple[jax.Array, dict[str, jax.Array]]:
  """Distillation fused with the student's and the teacher's LM heads.

  Computes, per token, the divergence of :func:`jaxloss.distillation`
  between ``q = softmax(xs @ ws / T)`` and ``p = softmax(xt @ wt / T)``
  (module docstring: forward/reverse KL, generalised JSD with teacher
  weight ``beta``, total variation), plus the optional hard-label terms on
  the student's *untempered* logits ``z = xs @ ws``::

    loss = D(p, q) + hard_label_weight * (lse(z) - z[y])
           + z_loss * lse(z) ** 2

  reduced over the non-ignored tokens with :func:`jaxloss.reduce`. Both
  heads are evaluated ``chunk_size`` vocabulary entries at a time (one pass
  for the KL divergences, two for JSD and TV; the backward pass recomputes
  the tiles), so neither ``[N, V]`` logits array is ever built. The teacher
  gets no gradient; the gradients with respect to the student's embeddings
  and weight equal those of the naive two-head computation.

  Args:
    student_embeddings: ``[..., Ds]``.
    student_weight: ``[Ds, V]``.
    teacher_embeddings: ``[..., Dt]`` (same leading shape).
    teacher_weight: ``[Dt, V_t]``, ``V_t >= V``: a padded teacher
      vocabulary's columns past ``V`` are dropped (module docstring).
    labels: integer token ids ``[...]``; ``ignore_index`` marks tokens to
      skip (prompt, padding) in every term.
    divergence: ``"forward_kl"``, ``"reverse_kl"``, ``"jsd"`` or ``"tv"``.
    beta: teacher weight of the JSD mixture, in ``[0, 1]`` (0: forward KL,
      1: reverse KL).
    temperature: positive; divides both heads' logits in the divergence.
    hard_label_weight: weight (>= 0) of the hard-label cross-entropy.
    z_loss: coefficient (>= 0) of the student's ``lse ** 2`` penalty.
    ignore_index: label value of skipped tokens.
    reduction: a :func:`jaxloss.reduce` reduction (``"none"`` gives
      ``[...]``).
    normalizer: explicit divisor of the mean-like reductions (e.g. the
      global token count).
    chunk_size: vocabulary entries per chunk; None picks one so that a
      float32 tile holds about 4M elements.
    return_components: also return ``{"distillation", "cross_entropy",
      "z_loss"}``, each unweighted and reduced like the loss (no gradient).
    segment_ids: optional integer ``[...]`` marking packed sequences
      (``1, 2, ...``, 0 for padding): each sequence's non-ignored tokens are
      averaged first, and ``reduction`` then runs over the sequences
      (``"none"`` gives ``[..., T]`` per-segment means, segment ``k`` at
      ``k - 1``, 0 for missing ones), as for the same sequences unpacked.

  Returns:
    The loss (scalar, or ``[...]`` for ``reduction="none"``): float32 for
    half-precision inputs, else the student's dtype; and the components
    dict when asked.

  Raises:
    TypeError: for non-floating arrays or non-integer labels.
    ValueError: for mismatched shapes or bad options.

  Examples:
    >>> import jax.numpy as jnp
    >>> import jaxloss
    >>> xs, xt = jnp.array([[1.0, 0.0]]), jnp.array([[0.0, 1.0]])
    >>> w = jnp.array([[1.0, 0.0, 0.0], [0.0, 0.0, 2.0]])
    >>> jaxloss.linear_distillation(xs, w, xt, w, jnp.array([0]))
    Array(0.7793652, dtype=float32)

  References:
    Agarwal et al., "On-Policy Distillation of Language Models" (GKD),
    ICLR 2024 (arXiv:2306.13649). Wijmans et al., "Cut Your Losses in
    Large-Vocabulary Language Models", 2024 (chunked LM heads).
  """
  return _linear_distillation(
    "linear_distillation",
    student_embeddings,
    student_weight,
    teacher_embeddings,
    teacher_weight,
    labels,
    divergence=divergence,
    beta=beta,
    temperature=temperature,
    hard_label_weight=hard_label_weight,
    z_loss=z_loss,
    ignore_index=ignore_index,
    reduction=reduction,
    normalizer=normalizer,
    chunk_size=chunk_size,
    return_components=return_components,
    segment_ids=segment_ids,
    axis_name=None,
  )


@domains.declare(
  class_ids=domains.ClassIds(
    "labels", "student_weight_shard", axis=1, sharded=True
  )
)
@scoped
def vocab_parallel_linear_distillation(
  student_embeddings: InputLike,
  student_weight_shard: InputLike,
  teacher_embeddings: InputLike,
  teacher_weight_shard: InputLike,
  labels: InputLike,
  *,
  axis_name: str | tuple[str, ...],
  divergence: str = "forward_kl",
  beta: float = 0.5,
  temperature: float = 1.0,
  hard_label_weight: float = 0.0,
  z_loss: float = 0.0,
  ignore_index: int = -100,
  reduction: str | None = "mean",
  normalizer: InputLike | None = None,
  chunk_size: int | None = None,
  return_components: bool = False,
  segment_ids: InputLike | None = None,
) -> jax.Array | tuple[jax.Array, dict[str, jax.Array]]:
  """:func:`jaxloss.linear_distillation` with both LM heads vocab-sharded.

  Call inside ``shard_map``: device ``k`` of ``axis_name`` holds columns
  ``[k * Vs, (k + 1) * Vs)`` of both ``[D, V]`` head weights; embeddings
  and global label ids are replicated over ``axis_name``. Each device runs
  the chunked two-head kernel on its shard; the per-token statistics are
  combined with one ``pmax`` and one ``psum`` (and one more ``psum`` for
  the second pass of JSD and TV), and the student embeddings' gradient is
  the ``psum`` of the per-shard ones. The result is the same on every
  device of ``axis_name``.

  Args:
    student_embeddings: ``[..., Ds]``, replicated over ``axis_name``.
    student_weight_shard: ``[Ds, Vs]``.
    teacher_embeddings: ``[..., Dt]``, replicated over ``axis_name``.
    teacher_weight_shard: ``[Dt, Vs]``, the student's shard width (a padded
      teacher vocabulary is sliced to the student's before sharding).
    labels: global integer token ids ``[...]``.
    axis_name: the mesh axis the vocabulary is sharded over.
    divergence: as in :func:`jaxloss.linear_distillation`.
    beta: as in :func:`jaxloss.linear_distillation`.
    temperature: as in :func:`jaxloss.linear_distillation`.
    hard_label_weight: as in :func:`jaxloss.linear_distillation`.
    z_loss: as in :func:`jaxloss.linear_distillation`.
    ignore_index: as in :func:`jaxloss.linear_distillation`.
    reduction: as in :func:`jaxloss.linear_distillation`.
    normalizer: as in :func:`jaxloss.linear_distillation`.
    chunk_size: as in :func:`jaxloss.linear_distillation`.
    return_components: as in :func:`jaxloss.linear_distillation`.
    segment_ids: as in :func:`jaxloss.linear_distillation`.

  Returns:
    As :func:`jaxloss.linear_distillation`.

  Raises:
    TypeError: for non-floating arrays or non-integer labels.
    ValueError: for mismatched shapes, bad options or an unbound axis.

  Examples:
    >>> import jax, numpy as np
    >>> import jaxloss
    >>> from jax.sharding import PartitionSpec as P
    >>> mesh = jax.sharding.Mesh(jax.devices()[:1], ("vocab",))
    >>> f = jax.shard_map(
    ...     lambda xs, ws, xt, wt, y:
    ...         jaxloss.vocab_parallel_linear_distillation(
    ...             xs, ws, xt, wt, y, axis_name="vocab"),
    ...     mesh=mesh, in_specs=(P(), P(None, "vocab"), P(),
    ...                          P(None, "vocab"), P()), out_specs=P())
    >>> w = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 2.0]], np.float32)
    >>> f(np.array([[1.0, 0.0]], np.float32), w,
    ...   np.array([[0.0, 1.0]], np.float32), w, np.array([0]))
    Array(0.7793652, dtype=float32)
  """
  return _linear_distillation(
    "vocab_parallel_linear_distillation",
    student_embeddings,
    student_weight_shard,
    teacher_embeddings,
    teacher_weight_shard,
    labels,
    divergence=divergence,
    beta=beta,
    temperature=temperature,
    hard_label_weight=hard_label_weight,
    z_loss=z_loss,
    ignore_index=ignore_index,
    reduction=reduction,
    normalizer=normalizer,
    chunk_size=chunk_size,
    return_components=return_components,
    segment_ids=segment_ids,
    axis_name=axis_name,
  )


def _linear_distillation(
  caller,
  student_embeddings,
  student_weight,
  teacher_embeddings,
  teacher_weight,
  labels,
  *,
  divergence,
  beta,
  temperature,
  hard_label_weight,
  z_loss,
  ignore_index,
  reduction,
  normalizer,
  chunk_size,
  return_components,
  segment_ids,
  axis_name,
):
  _check_divergence(caller, divergence, beta, temperature)
  validation.check_range(
    caller, "hard_label_weight", hard_label_weight, low=0.0
  )
  validation.check_range(caller, "z_loss", z_loss, low=0.0)
  lp_lib.check_head_options(
    caller,
    temperature=temperature,
    logit_softcap=None,
    chunk_size=chunk_size,
    ignore_index=ignore_index,
  )
  reduction_lib.check_reduction(caller, reduction)
  validation.flag(caller, "return_components", return_components)
  sw_name = "student_weight" if axis_name is None else "student_weight_shard"
  tw_name = "teacher_weight" if axis_name is None else "teacher_weight_shard"
  xs, ws, _ = head.head_arrays(
    caller,
    student_embeddings,
    student_weight,
    None,
    x_name="student_embeddings",
    w_name=sw_name,
  )
  xt, wt, _ = head.head_arrays(
    caller,
    teacher_embeddings,
    teacher_weight,
    None,
    x_name="teacher_embeddings",
    w_name=tw_name,
  )
  shards = 1 if axis_name is None else tiling.axis_size(caller, axis_name)
  if xt.shape[:-1] != xs.shape[:-1]:
    raise ValueError(
      f"{caller}: teacher_embeddings must have the leading shape of "
      f"student_embeddings {xs.shape[:-1]}, got "
      f"teacher_embeddings.shape={tuple(xt.shape)}"
    )
  if axis_name is None:
    wt = teacher_columns(caller, tw_name, wt, ws.shape[1], 1)
  elif wt.shape[1] != ws.shape[1]:
    raise ValueError(
      f"{caller}: {tw_name} must have the vocabulary size of "
      f"{sw_name} ({ws.shape[1]}), got "
      f"{tw_name}.shape={tuple(wt.shape)}"
    )
  out_dtype = numerics.compute_dtype(xs.dtype)
  y = head.int_labels(caller, "labels", labels, xs.shape[:-1])
  batch = y.shape
  if segment_ids is not None:
    segment_ids = segments.segment_ids_array(
      caller, "segment_ids", segment_ids, batch
    )
  xs2, y1, valid = head.token_rows(xs, y, y != ignore_index)
  xt2 = lax.stop_gradient(xt.reshape((-1, xt.shape[-1]))).astype(xs.dtype)
  wt = lax.stop_gradient(wt).astype(ws.dtype)
  cfg = DistillConfig(
    chunk=tiling.chunk_for(chunk_size, xs2.shape[0], ws.shape[1]),
    temperature=float(temperature),
    divergence=resolve_divergence(divergence, beta),
    beta=float(beta),
    axis_name=axis_name,
  )
  xs2, ws, xt2, wt, y1, valid = tiling.vary_together(
    xs2, ws, xt2, wt, y1, valid, exclude=axis_name
  )
  # custom_vjp's stubs do not carry the wrapped function's return type.
  div, ce, zsq = cast(
    tuple[jax.Array, jax.Array, jax.Array],
    fused_distillation(cfg, xs2, ws, xt2, wt, y1, valid),
  )
  # A label outside [0, V) (not ignore_index) makes its token's value NaN.
  vocab = ws.shape[1] * shards
  ce = numerics.nan_at_bad_ids(
    ce, y.reshape(-1), vocab, ignore_index=ignore_index
  )
  div = numerics.nan_at_bad_ids(
    div, y.reshape(-1), vocab, ignore_index=ignore_index
  )
  total = div
  if hard_label_weight:
    total = total + hard_label_weight * ce
  if z_loss:
    total = total + z_loss * zsq
  mask = valid.reshape(batch)

  def red(v):
    v, where = v.reshape(batch), mask
    if segment_ids is not None:
      v, where = segments.sequence_means(v, segment_ids, mask)
    return reduction_lib.reduce(
      v, where=where, reduction=reduction, normalizer=normalizer
    ).astype(out_dtype)

  loss = red(total)
  if not return_components:
    return loss
  comps = {
    "distillation": red(lax.stop_gradient(div)),
    "cross_entropy": red(lax.stop_gradient(ce)),
    "z_loss": red(lax.stop_gradient(zsq)),
  }
  return loss, comps


# ------------------------------------------------------------ top-k


def _topk_inputs(caller, lp, ids, temperature, renormalize, tail):
  lp = numerics.as_float(caller, "teacher_topk_logprobs", lp)
  ids = numerics.as_array(caller, "teacher_topk_ids", ids)
  validation.integer_dtype(caller, "teacher_topk_ids", ids)
  shapes.check_same_shape(
    caller, teacher_topk_logprobs=lp, teacher_topk_ids=ids
  )
  shapes.check_min_rank(caller, "teacher_topk_logprobs", lp, 1)
  validation.flag(caller, "renormalize", renormalize)
  validation.flag(caller, "tail", tail)
  if tail and renormalize:
    raise ValueError(
      f"{caller}: tail=True takes the teacher's log-probabilities as given "
      "(their mass outside the top-k is the tail class), so renormalize "
      "must be False, got renormalize=True"
    )
  validation.check_range(
    caller, "temperature", temperature, low=0.0, low_open=True
  )
  return lp, ids.astype(jnp.int32)


def _topk_values(teacher_lp, student_lq, temperature, renormalize, tail):
  """``sum_k p_k (log p_k - log q_k)`` over the teacher's top-k ids, and
  over the tail class (the mass outside them) with ``tail``."""
  t = lax.stop_gradient(teacher_lp)
  if renormalize:
    log_p = jax.nn.log_softmax(t / temperature, axis=-1)
  else:
    log_p = t
  if tail:
    tail_p = log1m_mass(jax.nn.logsumexp(log_p, axis=-1))[..., None]
    tail_q = log1m_mass(jax.nn.logsumexp(student_lq, axis=-1))[..., None]
    log_p = jnp.concatenate([log_p, tail_p], axis=-1)
    student_lq = jnp.concatenate([student_lq, tail_q], axis=-1)
  d, _ = _elementwise("forward_kl", 0.0, log_p, student_lq)
  return jnp.sum(d, axis=-1)


def _mask(caller, where, shape, what=""):
  if where is None:
    return None
  mask = numerics.as_array(caller, "where", where)
  validation.bool_mask(caller, "where", mask)
  if mask.shape != shape:
    what = f" {what}" if what else ""
    raise ValueError(
      f"{caller}: where must have shape {shape}{what}, got "
      f"where.shape={tuple(mask.shape)}"
    )
  return mask


@domains.declare(
  class_ids=domains.ClassIds("teacher_topk_ids", "student_logits")
)
@scoped
def topk_distillation(
  student_logits: InputLike,
  teacher_topk_logprobs: InputLike,
  teacher_topk_ids: InputLike,
  *,
  temperature: float | jax.Array = 1.0,
  renormalize: bool = True,
  where: InputLike | None = None,
  tail: bool = False,
) -> jax.Array:
  """Forward KL to a teacher known only by its top-k log-probabilities.

  With the teacher's stored top-k log-probabilities ``l_k`` at ids
  ``i_k`` (what offline distillation datasets keep) and the student's
  ``log q = log_softmax(student_logits / T)``, per token::

    loss = sum_k p_k (log p_k - log q[i_k])

  where ``log p = log_softmax(l / T)`` over the k entries when
  ``renormalize`` (the teacher restricted to its top-k and re-normalised,
  a proper distribution), else ``log p = l`` as given (the teacher's mass
  outside the top-k is dropped). With ``tail`` (and ``renormalize=False``)
  both distributions gain a ``(K+1)``-th class, the mass outside the k ids:
  ``log(1 - exp(lse_k))`` of the teacher's given log-probabilities and of
  the student's (``lse_k`` bounded by ``-1e-7``), so that the loss is the
  forward KL between two distributions over ``K + 1`` classes (TRL's
  ``loss_add_tail``). The teacher gets no gradient.

  Args:
    student_logits: ``[..., V]``.
    teacher_topk_logprobs: ``[..., K]``.
    teacher_topk_ids: integer ``[..., K]`` ids into the vocabulary.
    temperature: positive; divides the student logits (and the teacher's
      log-probabilities when ``renormalize``).
    renormalize: renormalise the teacher over its top-k.
    where: optional bool ``[...]``; masked tokens give 0.
    tail: add the tail class (needs ``renormalize=False``).

  Returns:
    Per-token values ``[...]`` in the student logits' dtype.

  Raises:
    TypeError: for non-floating logits, non-integer ids or a bad mask.
    ValueError: for mismatched shapes or bad options.

  Examples:
    >>> import jax.numpy as jnp
    >>> import jaxloss
    >>> jaxloss.topk_distillation(jnp.array([[0.0, 0.0, 0.0]]),
    ...                           jnp.log(jnp.array([[0.5, 0.5]])),
    ...                           jnp.array([[0, 2]]))
    Array([0.4054651], dtype=float32)

  References:
    Hinton, Vinyals and Dean, "Distilling the Knowledge in a Neural
    Network", 2015. Gemma Team, "Gemma 2", 2024, section 6.1 (distillation
    from stored teacher probabilities). TRL (huggingface/trl
    1.10.0.dev0), ``IWOPDTrainer`` (the tail bucket).
  """
  caller = "topk_distillation"
  s = numerics.as_float(caller, "student_logits", student_logits)
  lp, ids = _topk_inputs(
    caller,
    teacher_topk_logprobs,
    teacher_topk_ids,
    temperature,
    renormalize,
    tail,
  )
  shapes.check_min_rank(caller, "student_logits", s, 1)
  if lp.shape[:-1] != s.shape[:-1]:
    raise ValueError(
      f"{caller}: teacher_topk_logprobs must have the leading shape of "
      f"student_logits {s.shape[:-1]}, got shape {tuple(lp.shape)}"
    )
  mask = _mask(caller, where, s.shape[:-1])
  out_dtype = s.dtype
  acc = numerics.compute_dtype(out_dtype)
  s, lp = s.astype(acc), lp.astype(acc)
  if mask is not None:  # masked rows: 0 in value and gradient, even NaN ones
    s, lp = _masked_rows(mask, s), _masked_rows(mask, lp)
  log_q = jax.nn.log_softmax(s / temperature, axis=-1)
  lq = jnp.take_along_axis(log_q, ids, axis=-1)
  # A teacher id outside [0, V) gives NaN (take_along_axis would wrap -1).
  lq = numerics.nan_at_bad_ids(lq, ids, log_q.shape[-1])
  values = _topk_values(lp, lq, temperature, renormalize, tail)
  if mask is not None:
    values = jnp.where(mask, values, 0)
  return values.astype(out_dtype)


@domains.declare(
  class_ids=domains.ClassIds("teacher_topk_ids", "weight", axis=1)
)
@scoped
def linear_topk_distillation(
  embeddings: InputLike,
  weight: InputLike,
  teacher_topk_logprobs: InputLike,
  teacher_topk_ids: InputLike,
  *,
  temperature: float = 1.0,
  renormalize: bool = True,
  where: InputLike | None = None,
  chunk_size: int | None = None,
  tail: bool = False,
) -> jax.Array:
  """:func:`jaxloss.topk_distillation` fused with the student's LM head.

  The student's log-probabilities at the teacher's ``K`` ids come from the
  chunked kernel of :func:`jaxloss.linear_log_probs` (labels ``[N, K]``),
  so the ``[N, V]`` logits are never built; values and gradients equal
  ``topk_distillation(embeddings @ weight, ...)``.

  Args:
    embeddings: ``[..., D]``.
    weight: ``[D, V]``.
    teacher_topk_logprobs: ``[..., K]``.
    teacher_topk_ids: integer ``[..., K]``.
    temperature: as in :func:`jaxloss.topk_distillation`.
    renormalize: as in :func:`jaxloss.topk_distillation`.
    where: optional bool ``[...]``; masked tokens give 0 and no gradient.
    chunk_size: vocabulary entries per chunk, or None.
    tail: as in :func:`jaxloss.topk_distillation`.

  Returns:
    Per-token values ``[...]``; float32 for half-precision inputs.

  Raises:
    TypeError: for non-floating arrays, non-integer ids or a bad mask.
    ValueError: for mismatched shapes or bad options.

  Examples:
    >>> import jax.numpy as jnp
    >>> import jaxloss
    >>> jaxloss.linear_topk_distillation(
    ...     jnp.ones((1, 2)), jnp.zeros((2, 3)),
    ...     jnp.log(jnp.array([[0.5, 0.5]])), jnp.array([[0, 2]]))
    Array([0.4054651], dtype=float32)
  """
  caller = "linear_topk_distillation"
  lp_lib.check_head_options(
    caller,
    temperature=temperature,
    logit_softcap=None,
    chunk_size=chunk_size,
    ignore_index=0,
  )
  x, w, _ = head.head_arrays(caller, embeddings, weight, None)
  lp, ids = _topk_inputs(
    caller,
    teacher_topk_logprobs,
    teacher_topk_ids,
    temperature,
    renormalize,
    tail,
  )
  if lp.shape[:-1] != x.shape[:-1]:
    raise ValueError(
      f"{caller}: teacher_topk_logprobs must have the leading shape of "
      f"embeddings {x.shape[:-1]}, got shape {tuple(lp.shape)}"
    )
  mask = _mask(caller, where, x.shape[:-1])
  valid = jnp.ones(x.shape[:-1], bool) if mask is None else mask
  lq, _ = lp_lib.run_head(
    x,
    w,
    None,
    ids,
    valid,
    temperature=temperature,
    logit_softcap=None,
    entropy=False,
    chunk_size=chunk_size,
    axis_name=None,
  )
  lq = numerics.nan_at_bad_ids(lq, ids, w.shape[1])
  lp = _masked_rows(valid, lp.astype(lq.dtype))
  values = _topk_values(lp, lq, temperature, renormalize, tail)
  return jnp.where(valid, values, 0)
