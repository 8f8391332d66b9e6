"""Contrastive losses at scale: CLIP and SigLIP, chunked and sharded.

Both losses compare every image of a batch with every text: with
``raw = image @ text.T`` (``[B, B]``) and ``l = scale * raw``,

* CLIP (symmetric InfoNCE) needs the log-sum-exp of every row and every
  column of ``l``;
* SigLIP needs ``softplus(-z * (l + bias))`` summed over every row, with
  ``z = +1`` on the diagonal and ``-1`` elsewhere.

Written naively, ``l`` and its gradient are two ``B x B`` arrays (8 GiB at
``B = 32768`` in float32). Here one kernel processes the columns a tile at a
time (``[rows, chunk]``): CLIP keeps a running max and sum-exp per row (an
online log-sum-exp) and finishes each tile's column log-sum-exp at once
(every row is present), SigLIP sums each tile into its rows. A
``jax.custom_vjp`` keeps only the per-row (and per-column) statistics and
recomputes each tile in the backward pass, so memory grows like
``B * chunk``, never ``B * B``.

Inside ``shard_map`` the same kernel runs over a ring: each device holds
its local rows, and the other devices' text (or image) blocks pass around
the mesh axis with ``ppermute``, one block per step (SigLIP's chunked
scheme, Zhai et al. 2023, section 3.3). In the backward pass the blocks go
around again, each carrying the gradient accumulated for it, which arrives
home after the last step. No device ever holds more than its own block,
one visiting block and their gradients, so memory grows with the local
batch, not the global one; and the gradients are exact (no factor of the
device count): every term of the global loss is differentiated once.
"""

from __future__ import annotations

from typing import NamedTuple
from typing import cast

import jax
from jax import lax
import jax.numpy as jnp

from jaxloss._src import domains
from jaxloss._src import empty
from jaxloss._src import numerics
from jaxloss._src import shapes
from jaxloss._src import tiling
from jaxloss._src import validation
from jaxloss._src.losses import softmax
from jaxloss._src.objects import Loss
from jaxloss._src.scoping import scoped
from jaxloss._src.typing import InputLike

# CLIP's initial logit scale, exp(log(1 / 0.07)) (Radford et al. 2021), and
# SigLIP's initial temperature and bias, t = 10 and b = -10 (Zhai et al.
# 2023, section 3.2).
CLIP_SCALE = 1.0 / 0.07
SIGLIP_SCALE = 10.0
SIGLIP_BIAS = -10.0


class _Config(NamedTuple):
  """Static options of the tiled kernel (a custom_vjp nondiff argument)."""

  kind: str  # "lse" (CLIP), "sigmoid" (SigLIP) or "distill" (CLIP + teacher)
  chunk: int  # columns per tile
  columns: bool  # "lse", "distill": also the statistics of every column
  axis_name: object  # None (one device) or the ring's mesh axis
  axis_size: int  # devices on the ring (1 without one)


# ------------------------------------------------------------------ tiles


def _tile(a, b, scale, bias, va, vb, acc):
  """``(raw, logits, mask)`` of one tile: ``raw = a @ b.T`` (compute dtype),
  ``logits = scale * raw (+ bias)`` and the validity mask of its entries."""
  raw = tiling.matmul(a, b, tiling.NT, acc)
  logits = scale * raw
  if bias is not None:
    logits = logits + bias
  mask = va[:, None] & vb[None, :]
  return raw, logits, mask


def _column_lse(s):
  """The log-sum-exp of every column of a tile that holds every row (its
  first axis): final at once; ``-inf`` for a column with no entry."""
  m = jnp.max(s, axis=0)
  se = jnp.sum(jnp.exp(s - tiling.finite_shift(m)[None, :]), axis=0)
  return tiling.finish_lse(m, se, empty_rows=True)


def _softmax(s, lse, axis):
  """``exp(s - lse)`` along ``axis`` (1: rows, 0: columns) from a finished
  log-sum-exp; entries at ``-inf`` (masked) give 0, and so does a row or
  column with no entry (its ``lse = -inf``, shifted by 0 instead)."""
  shift = jnp.where(jnp.isneginf(lse), 0, lse)
  return jnp.exp(s - jnp.expand_dims(shift, axis))


def _ring_perm(n):
  return [(i, (i + 1) % n) for i in range(n)]


def _blocks(cfg, body, carry, b, vb, travel=None):
  """Runs ``body(carry, block, valid, origin, travel) -> (carry, travel)``
  over the column blocks: the whole ``b`` on one device; around the ring
  with ``axis_name``, where step ``k`` sees the block of device
  ``me - k`` and ``travel`` (a gradient accumulator) moves with it.
  ``b`` may be a tuple of arrays with the same rows (the student's and the
  teacher's columns): they travel together.

  Returns ``(carry, travel)``; after ``axis_size`` steps of the ring the
  travelling accumulator is back on the device that owns the block.
  """
  if cfg.axis_name is None:
    return body(carry, b, vb, 0, travel)
  n = cfg.axis_size
  me = lax.axis_index(cfg.axis_name)
  perm = _ring_perm(n)

  def step(state, k):
    carry, blk, valid, trav = state
    carry, trav = body(carry, blk, valid, (me - k) % n, trav)
    if travel is None:
      blk, valid = lax.ppermute((blk, valid), cfg.axis_name, perm)
    else:
      blk, valid, trav = lax.ppermute((blk, valid, trav), cfg.axis_name, perm)
    return (carry, blk, valid, trav), None

  state = tiling.vary_like((carry, b, vb, travel), jax.tree.leaves(b))
  if travel is None:
    # The forward pass needs no block after the last one: n - 1 transfers.
    if n > 1:
      state, _ = lax.scan(step, state, jnp.arange(n - 1))
    carry, blk, valid, _ = state
    carry, _ = body(carry, blk, valid, (me - (n - 1)) % n, None)
  else:
    (carry, _, _, travel), _ = lax.scan(step, state, jnp.arange(n))
  return carry, travel


def _labels(rows, start, size, row_offset, col_offset):
  """SigLIP's targets of a tile: 1 where the global row and column ids
  match (the positive pair), else 0."""
  r = row_offset + jnp.arange(rows)
  c = col_offset + start + jnp.arange(size)
  return r[:, None] == c[None, :]


def _split(teacher, blk):
  """``(student block, teacher block or None)`` of a visiting block."""
  return blk if teacher is not None else (blk, None)


def _forward(cfg, a, b, scale, bias, va, vb, teacher):
  """Per-row statistics, in the compute dtype: CLIP ``(row lse, column lse
  or None)``, SigLIP ``(row sums, None)``; distillation ``([2, Na] row
  stats, [2, Nb] column stats or None, teacher log-sum-exps)``, where a
  row's stats are the student's log-sum-exp and the student logits'
  mean under the teacher's softmax, ``sum_j p_ij s_ij``."""
  sb, _ = _split(teacher, b)
  acc = numerics.compute_dtype(jnp.result_type(a, sb))
  rows = a.shape[0]
  row_offset = (
    0 if cfg.axis_name is None else (lax.axis_index(cfg.axis_name) * rows)
  )
  ta, tscale = (None, None) if teacher is None else teacher
  columns = cfg.columns

  def body(carry, blk, vblk, origin, travel):
    del travel
    blk, tblk = _split(teacher, blk)
    cols = blk.shape[0]
    col_offset = origin * cols

    def step(c, start, size):
      bk = tiling.loop_slice(blk, start, size, 0)
      vk = lax.dynamic_slice_in_dim(vblk, start, size)
      _, logits, mask = _tile(a, bk, scale, bias, va, vk, acc)
      if cfg.kind == "sigmoid":
        (total,) = c
        t = _labels(rows, start, size, row_offset, col_offset)
        ce = numerics.sigmoid_cross_entropy(t.astype(acc), logits)
        return (total + jnp.sum(jnp.where(mask, ce, 0), axis=1),)
      s = jnp.where(mask, logits, -jnp.inf)
      if cfg.kind == "lse":
        lse, col = c
        lse, _, _ = tiling.lse_add(lse, s)
        if columns:
          # Every row is in the tile: its columns' log-sum-exp is final.
          col = lax.dynamic_update_slice_in_dim(
            col, _column_lse(s), start, axis=0
          )
        return lse, col
      # Distillation: the teacher's online log-sum-exp per row, and the
      # student's logits summed under the same exponentials.
      lse, tlse, w, col = c
      tbk = tiling.loop_slice(tblk, start, size, 0)
      _, tl, _ = _tile(ta, tbk, tscale, None, va, vk, acc)
      t = jnp.where(mask, tl, -jnp.inf)
      s0 = jnp.where(mask, logits, 0)
      lse, _, _ = tiling.lse_add(lse, s)
      tlse, alpha, e = tiling.lse_add(tlse, t)
      w = alpha * w + jnp.sum(e * s0, axis=1)
      if columns:
        tc = _column_lse(t)
        ep = jnp.sum(_softmax(t, tc, 0) * s0, axis=0)
        col = lax.dynamic_update_slice_in_dim(
          col, jnp.stack([_column_lse(s), ep, tc]), start, axis=1
        )
      return lse, tlse, w, col

    refs = (a, blk, scale, bias, va, vblk, ta, tblk, tscale)
    return tiling.scan_tiles(
      step, carry, cols, min(cfg.chunk, cols), refs
    ), None

  nb = sb.shape[0]
  if cfg.kind == "sigmoid":
    carry = (jnp.zeros((rows,), acc),)
  elif cfg.kind == "lse":
    col = jnp.zeros((nb if columns else 0,), acc)
    carry = (tiling.lse_start((rows,), acc), col)
  else:
    col = jnp.zeros((3, nb if columns else 0), acc)
    start = tiling.lse_start((rows,), acc)
    carry = (start, start, jnp.zeros((rows,), acc), col)
  carry, _ = _blocks(cfg, body, carry, b, vb)
  if cfg.kind == "sigmoid":
    return carry[0], None, None
  finish = lambda st: tiling.finish_lse(st.m, st.se, empty_rows=True)  # noqa: E731
  if cfg.kind == "lse":
    lse, col = carry
    return finish(lse), (col if columns else None), None
  lse, tlse, w, col = carry
  row = jnp.stack([finish(lse), numerics.safe_divide(w, tlse.se)])
  # The teacher's log-sum-exps are residuals for the backward pass.
  teacher_lse = (finish(tlse), col[2] if columns else None)
  return row, (col[:2] if columns else None), teacher_lse


# tiled's (row, col); custom_vjp's stubs do not carry the return type.
_Stats = tuple[jax.Array, jax.Array | None]


def _tiled_fwd(cfg, a, b, scale, bias, va, vb, teacher):
  """Row (and column) statistics of ``scale * a @ b.T + bias``, tiled.

  Args:
    cfg: a static ``_Config``.
    a: rows ``[Na, D]`` (zero where not ``va``).
    b: columns ``[Nb, D]`` (zero where not ``vb``); on a ring, this
      device's block. Distillation: the pair ``(columns [Nb, D], teacher
      columns [Nb, Dt])``, which travel the ring together.
    scale: scalar multiplier of the similarities.
    bias: scalar offset (SigLIP) or None.
    va, vb: bool masks ``[Na]``, ``[Nb]``: masked rows and columns take no
      part in any statistic.
    teacher: None, or (distillation) the teacher's ``(rows [Na, Dt],
      scale)``; its softmax weighs the student's logits. The teacher is a
      constant here: its rows, columns and scale get no gradient.

  Returns:
    ``(row, col)``: for CLIP the row log-sum-exp ``[Na]`` and, with
    ``cfg.columns``, the column log-sum-exp ``[Nb]`` (else None); for SigLIP
    the row sums of the sigmoid losses ``[Na]`` and None; for distillation
    ``[2, Na]`` (the row log-sum-exp and ``sum_j p_ij s_ij`` with ``p`` the
    teacher's row softmax) and, with ``cfg.columns``, the same ``[2, Nb]``
    per column (else None). Empty rows and columns give ``-inf`` (CLIP's
    log-sum-exp), or 0. Also the residuals.
  """
  row, col, teacher_lse = _forward(cfg, a, b, scale, bias, va, vb, teacher)
  res = (a, b, scale, bias, va, vb, teacher, row, col, teacher_lse)
  return (row, col), res


def _tiled_bwd(cfg, res, cotangents):
  a, b, scale, bias, va, vb, teacher, row, col, teacher_lse = res
  g_row, g_col = cotangents
  sb, _ = _split(teacher, b)
  acc = numerics.compute_dtype(jnp.result_type(a, sb))
  rows = a.shape[0]
  row_offset = (
    0 if cfg.axis_name is None else (lax.axis_index(cfg.axis_name) * rows)
  )
  ta, tscale = (None, None) if teacher is None else teacher
  g_row = jnp.where(va, g_row, 0).astype(acc)
  if g_col is not None:
    g_col = jnp.where(vb, g_col, 0).astype(acc)
  t_row, t_col = (None, None) if teacher_lse is None else teacher_lse
  if teacher is not None:
    # [lse, mean under the teacher] rows of the distillation statistics.
    row, col = row[0], None if col is None else col[0]

  def body(carry, blk, vblk, origin, db_blk):
    blk, tblk = _split(teacher, blk)
    cols = blk.shape[0]
    col_offset = origin * cols

    def step(c, start, size):
      da, db_b, ds, dbias = c
      bk = tiling.loop_slice(blk, start, size, 0)
      vk = lax.dynamic_slice_in_dim(vblk, start, size)
      raw, logits, mask = _tile(a, bk, scale, bias, va, vk, acc)
      if cfg.kind == "sigmoid":
        t = _labels(rows, start, size, row_offset, col_offset)
        dl = g_row[:, None] * (jax.nn.sigmoid(logits) - t.astype(acc))
      else:
        # d lse / d s is the student's softmax; d (sum_j p_ij s_ij) / d s
        # is the teacher's (a constant).
        sm = jnp.where(mask, logits, -jnp.inf)
        at = lambda v: lax.dynamic_slice_in_dim(v, start, size, axis=-1)  # noqa: E731
        if teacher is None:
          dl = g_row[:, None] * _softmax(sm, row, 1)
          if g_col is not None:
            dl = dl + at(g_col)[None, :] * _softmax(sm, at(col), 0)
        else:
          tbk = tiling.loop_slice(tblk, start, size, 0)
          _, tl, _ = _tile(ta, tbk, tscale, None, va, vk, acc)
          tm = jnp.where(mask, tl, -jnp.inf)
          dl = g_row[0][:, None] * _softmax(sm, row, 1)
          dl = dl + g_row[1][:, None] * _softmax(tm, t_row, 1)
          if g_col is not None:
            gc = at(g_col)
            dl = dl + gc[0][None, :] * _softmax(sm, at(col), 0)
            dl = dl + gc[1][None, :] * _softmax(tm, at(t_col), 0)
      # Masked entries take no part (0, never 0 * inf or NaN).
      dl = jnp.where(mask, dl, 0)
      ds = ds + jnp.sum(dl * raw)
      if dbias is not None:
        dbias = dbias + jnp.sum(dl)
      dl_h = dl.astype(a.dtype)
      da = da + tiling.matmul(dl_h, bk, tiling.NN, acc)
      db_k = tiling.matmul(dl_h, a, tiling.TN, acc)
      db_b = lax.dynamic_update_slice_in_dim(
        db_b, lax.dynamic_slice_in_dim(db_b, start, size) + db_k, start, axis=0
      )
      return da, db_b, ds, dbias

    da, ds, dbias = carry
    da, db_blk, ds, dbias = tiling.scan_tiles(
      step,
      (da, db_blk, ds, dbias),
      cols,
      min(cfg.chunk, cols),
      (a, blk, scale, bias, va, vblk, g_row, ta, tblk, tscale),
    )
    return (da, ds, dbias), db_blk

  zero = jnp.zeros((), acc)
  carry = (jnp.zeros(a.shape, acc), zero, None if bias is None else zero)
  db = jnp.zeros(sb.shape, acc)
  (da, ds, dbias), db = _blocks(cfg, body, carry, b, vb, travel=db)
  da = (scale * da).astype(a.dtype)
  db = (scale * db).astype(sb.dtype)
  if teacher is not None:
    db = (db, None)  # the teacher's columns: a constant
  ds = ds.astype(scale.dtype)
  dbias = None if bias is None else dbias.astype(bias.dtype)
  return da, db, ds, dbias, None, None, None


tiled = tiling.tiled_vjp(_tiled_fwd, _tiled_bwd)


# ------------------------------------------------------------ validation


def _scalar(caller, name, value, dtype):
  """A scalar hyper-parameter (float or learnable array) in ``dtype``."""
  if isinstance(value, bool):
    raise TypeError(f"{caller}: {name} must be a real scalar, got {value!r}")
  v = numerics.as_array(caller, name, value)
  if v.ndim != 0:
    raise ValueError(
      f"{caller}: {name} must be a scalar, got shape {tuple(v.shape)}"
    )
  if not (
    jnp.issubdtype(v.dtype, jnp.floating)
    or jnp.issubdtype(v.dtype, jnp.integer)
  ):
    raise TypeError(f"{caller}: {name} must be a real scalar, got {v.dtype}")
  return v.astype(dtype)


def _inputs(
  caller, image, text, where, names=("image_embeddings", "text_embeddings")
):
  """``(image, text, valid, out_dtype)``: ``[B, D]`` arrays in one floating
  dtype (kept: half precision stays half in the matmuls, which accumulate
  in float32) with masked rows zeroed, and the bool row mask."""
  converted, out_dtype = numerics.floats(
    caller, **dict(zip(names, (image, text)))
  )
  x, y = (c.astype(out_dtype) for c in converted)
  shapes.check_rank(caller, names[0], x, 2)
  shapes.check_same_shape(caller, **dict(zip(names, (x, y))))
  if where is None:
    valid = jnp.ones(x.shape[:1], jnp.bool_)
  else:
    valid = numerics.as_array(caller, "where", where)
    validation.bool_mask(caller, "where", valid)
    if valid.shape != x.shape[:1]:
      raise ValueError(
        f"{caller}: where must have shape [B] = ({x.shape[0]},), got "
        f"where.shape={tuple(valid.shape)}"
      )
  # Masked rows take no part; zeroing them keeps a NaN there out of the
  # other rows' gradients (0 * NaN).
  x = jnp.where(valid[:, None], x, 0)
  y = jnp.where(valid[:, None], y, 0)
  return x, y, valid, out_dtype


def _check_options(caller, chunk_size, **numbers):
  """Checks the real hyper-parameters ``numbers`` and ``chunk_size``."""
  for name, value in numbers.items():
    validation.number(caller, name, value)
  validation.positive_integer(caller, "chunk_size", chunk_size, optional=True)


def _config(
  kind, rows, cols, chunk_size, columns=False, axis_name=None, axis_size=1
):
  return _Config(
    kind=kind,
    chunk=tiling.chunk_for(chunk_size, rows, cols),
    columns=columns,
    axis_name=axis_name,
    axis_size=int(axis_size),
  )


def _clip_values(lse_row, lse_col, diag, valid, out_dtype):
  v = 0.5 * (lse_row + lse_col) - diag
  return jnp.where(valid, v, 0).astype(out_dtype)


# ------------------------------------------------------------ public API


@scoped
def clip_loss(
  image_embeddings: InputLike,
  text_embeddings: InputLike,
  *,
  scale: float | jax.Array = CLIP_SCALE,
  where: InputLike | None = None,
  chunk_size: int | None = None,
) -> jax.Array:
  """CLIP's symmetric InfoNCE loss, one value per image-text pair.

  With ``l = scale * image @ text.T`` (``[B, B]``, accumulated in float32
  for half inputs), row ``i``'s value is::

    loss_i = 0.5 * (logsumexp_j l[i, j] - l[i, i])
           + 0.5 * (logsumexp_j l[j, i] - l[i, i])

  (image-to-text and text-to-image cross-entropy with the matching pair as
  target); the mean over the rows is the paper's loss, so ``reduce`` and
  sample weights apply to the result. Rows where ``where`` is False take no
  part (neither as pair nor as negative) and give 0: pad a batch with them.
  The embeddings are used as given: normalise them first, as the paper does.

  The ``[B, B]`` logits are never held: the columns are processed
  ``chunk_size`` at a time, keeping an online log-sum-exp per row and
  finishing each tile's column log-sum-exp, and a ``jax.custom_vjp``
  recomputes each tile in the backward pass. Memory grows like
  ``B * chunk_size``. For a mesh, see :func:`jaxloss.sharded_clip_loss`.

  Args:
    image_embeddings: ``[B, D]``.
    text_embeddings: ``[B, D]``; row ``i`` is image ``i``'s caption.
    scale: the similarities' multiplier (CLIP's ``exp(logit_scale)``), a
      float or a scalar array (learnable; its gradient is exact).
    where: optional boolean ``[B]``: the rows that take part.
    chunk_size: columns per tile; None picks one so that a float32 tile
      holds about 4M elements (one tile, the whole matrix, for
      ``B <= 2048``).

  Returns:
    ``[B]`` values in the embeddings' floating dtype.

  Raises:
    TypeError: for non-floating embeddings or a non-boolean mask.
    ValueError: for embeddings that are not ``[B, D]`` of one shape, a mask
      of the wrong shape, a non-scalar ``scale`` or a bad ``chunk_size``.

  Examples:
    >>> import jax.numpy as jnp
    >>> import jaxloss
    >>> x = jnp.array([[1.0, 0.0], [0.0, 1.0]])
    >>> jaxloss.clip_loss(x, x, scale=1.0)
    Array([0.31326163, 0.31326163], dtype=float32)

  References:
    Radford et al., "Learning Transferable Visual Models From Natural
    Language Supervision", 2021, figure 3. Oord et al., "Representation
    Learning with Contrastive Predictive Coding", 2018 (InfoNCE).
  """
  caller = "clip_loss"
  validation.number(caller, "scale", scale)
  validation.positive_integer(caller, "chunk_size", chunk_size, optional=True)
  x, y, valid, out_dtype = _inputs(
    caller, image_embeddings, text_embeddings, where
  )
  empty.require_samples(caller, "image_embeddings", x)
  acc = numerics.compute_dtype(out_dtype)
  s = _scalar(caller, "scale", scale, acc)
  b = x.shape[0]
  cfg = _config("lse", b, b, chunk_size, columns=True)
  lse_row, lse_col = cast(_Stats, tiled(cfg, x, y, s, None, valid, valid, None))
  diag = s * jnp.sum(x.astype(acc) * y.astype(acc), axis=-1)
  return _clip_values(lse_row, lse_col, diag, valid, out_dtype)


@scoped
def siglip_loss(
  image_embeddings: InputLike,
  text_embeddings: InputLike,
  *,
  scale: float | jax.Array = SIGLIP_SCALE,
  bias: float | jax.Array = SIGLIP_BIAS,
  where: InputLike | None = None,
  chunk_size: int | None = None,
) -> jax.Array:
  """SigLIP's pairwise sigmoid loss, one value per image (row).

  With ``l = scale * image @ text.T + bias`` (``[B, B]``, in float32 for
  half inputs) and ``z = +1`` on the diagonal (the matching pairs), ``-1``
  elsewhere, row ``i``'s value is::

    loss_i = -sum_j log sigmoid(z[i, j] * l[i, j])

  computed as ``softplus(-z l)`` (finite for any logit). The mean over the
  rows is the paper's loss (its ``1 / |B|`` normaliser), so ``reduce`` and
  sample weights apply to the result. Rows where ``where`` is False take no
  part and give 0. The embeddings are used as given: normalise them first.

  The ``[B, B]`` logits are never held: the columns are processed
  ``chunk_size`` at a time and a ``jax.custom_vjp`` recomputes each tile in
  the backward pass. For a mesh, see :func:`jaxloss.sharded_siglip_loss`.

  Args:
    image_embeddings: ``[B, D]``.
    text_embeddings: ``[B, D]``; row ``i`` is image ``i``'s caption.
    scale: the similarities' multiplier (the paper's ``t = exp(t')``), a
      float or a scalar array (learnable).
    bias: the logits' offset (the paper's ``b``), float or scalar array.
    where: optional boolean ``[B]``: the rows that take part.
    chunk_size: columns per tile; None picks one so that a float32 tile
      holds about 4M elements.

  Returns:
    ``[B]`` values in the embeddings' floating dtype.

  Raises:
    TypeError: for non-floating embeddings or a non-boolean mask.
    ValueError: for embeddings that are not ``[B, D]`` of one shape, a mask
      of the wrong shape, a non-scalar ``scale``/``bias`` or a bad
      ``chunk_size``.

  Examples:
    >>> import jax.numpy as jnp
    >>> import jaxloss
    >>> x = jnp.array([[1.0, 0.0], [0.0, 1.0]])
    >>> jaxloss.siglip_loss(x, x, scale=1.0, bias=0.0)
    Array([1.0064089, 1.0064089], dtype=float32)

  References:
    Zhai et al., "Sigmoid Loss for Language Image Pre-Training", 2023,
    equation (1) and algorithm 1.
  """
  caller = "siglip_loss"
  validation.number(caller, "scale", scale)
  validation.number(caller, "bias", bias)
  validation.positive_integer(caller, "chunk_size", chunk_size, optional=True)
  x, y, valid, out_dtype = _inputs(
    caller, image_embeddings, text_embeddings, where
  )
  empty.require_samples(caller, "image_embeddings", x)
  acc = numerics.compute_dtype(out_dtype)
  s = _scalar(caller, "scale", scale, acc)
  bb = _scalar(caller, "bias", bias, acc)
  n = x.shape[0]
  cfg = _config("sigmoid", n, n, chunk_size)
  values, _ = cast(_Stats, tiled(cfg, x, y, s, bb, valid, valid, None))
  return jnp.where(valid, values, 0).astype(out_dtype)


def _sharded_stats(
  caller, x, y, s, valid, teacher, axis_name, n, chunk_size, collective
):
  """The global batch's row statistics of the local images (image-to-text)
  and of the local texts (text-to-image), from local rows: over a ring of
  visiting blocks, or against all-gathered columns.

  ``teacher``: None (CLIP) or ``(teacher images, teacher texts, teacher
  scale)`` (distillation), whose columns travel, or are gathered, with the
  student's."""
  kind = "lse" if teacher is None else "distill"
  tx, ty, ts = (None, None, None) if teacher is None else teacher

  def stats(cfg, a, b, ta, tb, va, vb):
    cols = b if teacher is None else (b, tb)
    rows = None if teacher is None else (ta, ts)
    return cast(_Stats, tiled(cfg, a, cols, s, None, va, vb, rows))[0]

  b = x.shape[0]
  if collective == "ring":
    cfg = _config(kind, b, b, chunk_size, axis_name=axis_name, axis_size=n)
    return (
      stats(cfg, x, y, tx, ty, valid, valid),
      stats(cfg, y, x, ty, tx, valid, valid),
    )
  if collective == "all_gather":
    # Autodiff transposes each all-gather into a reduce-scatter (psum_scatter)
    # of the gathered blocks' gradients: exact, no factor of n.
    def gather(a):
      return None if a is None else lax.all_gather(a, axis_name, tiled=True)

    x_all, y_all, tx_all, ty_all, v_all = map(gather, (x, y, tx, ty, valid))
    cfg = _config(kind, b, n * b, chunk_size)
    return (
      stats(cfg, x, y_all, tx, ty_all, valid, v_all),
      stats(cfg, y, x_all, ty, tx_all, valid, v_all),
    )
  raise ValueError(
    f"{caller}: collective must be 'ring' or 'all_gather', got {collective!r}"
  )


@scoped
def sharded_clip_loss(
  image_local: InputLike,
  text_local: InputLike,
  *,
  scale: float | jax.Array = CLIP_SCALE,
  axis_name: str | tuple[str, ...],
  where: InputLike | None = None,
  chunk_size: int | None = None,
  collective: str = "ring",
) -> jax.Array:
  """:func:`jaxloss.clip_loss` of the global batch, from local rows.

  Call inside ``shard_map``: device ``k`` of mesh axis ``axis_name`` holds
  rows ``[k * b, (k + 1) * b)`` of the global batch (``B = n * b``). The
  result is the local rows' values of :func:`jaxloss.clip_loss` on the
  global batch, and so are the gradients: exact, with no factor of the
  device count (concatenate or ``psum`` the local results, see below).

  Collectives: the text blocks travel around a ring of the ``n`` devices
  with ``ppermute`` (``n - 1`` steps) for the image-to-text log-sum-exp, and
  the image blocks likewise for text-to-image; each step moves one
  ``[b, D]`` block of the embeddings' dtype per device. The backward pass
  runs both rings again for ``n`` steps, each block travelling with its
  float32 gradient accumulator (``[b, D]``), which arrives back home. In
  all, per device: ``2 (n - 1) b D`` elements forward and ``2 n b D``
  elements plus as many float32 backward. A replicated ``scale`` gets the
  sum of the per-device gradients.

  With ``collective="all_gather"`` each device instead gathers the global
  images and texts (two ``all_gather`` of ``[b, D]`` per device, ``n - 1``
  blocks received each) and, in the backward pass, autodiff reduce-scatters
  their gradients (two ``psum_scatter`` of ``[n b, D]``): fewer, larger
  collectives, but ``2 n b D`` gathered elements held per device, which
  grow with the global batch (the tiles still never hold ``[b, n b]``).

  Global mean under data parallelism: the rows' mean is
  ``psum(sum(values)) / psum(count of rows)`` over the axis (divide by the
  global count, not by the device count; with gradient accumulation, by
  the count of all micro-batches).

  Args:
    image_local: ``[b, D]``, this device's images.
    text_local: ``[b, D]``, their captions.
    scale: as in :func:`jaxloss.clip_loss` (replicated).
    axis_name: the mesh axis the batch is sharded over.
    where: optional boolean ``[b]``: this device's rows that take part
      (pad an uneven global batch with masked rows).
    chunk_size: columns per tile within a visiting block; None picks one.
    collective: ``"ring"`` (``ppermute``, memory of the local batch) or
      ``"all_gather"`` (see above).

  Returns:
    ``[b]`` values of the local rows.

  Raises:
    TypeError, ValueError: as :func:`jaxloss.clip_loss`, and for an unbound
      ``axis_name`` or an unknown ``collective``.

  Examples:
    >>> import jax, numpy as np
    >>> import jaxloss
    >>> from jax.sharding import PartitionSpec as P
    >>> mesh = jax.sharding.Mesh(jax.devices()[:1], ("batch",))
    >>> f = jax.shard_map(
    ...     lambda x, y: jaxloss.sharded_clip_loss(
    ...         x, y, scale=1.0, axis_name="batch"),
    ...     mesh=mesh, in_specs=(P("batch"), P("batch")),
    ...     out_specs=P("batch"))
    >>> f(np.eye(2, dtype=np.float32), np.eye(2, dtype=np.float32))
    Array([0.31326163, 0.31326163], dtype=float32)

  References:
    Radford et al. 2021 (CLIP); Zhai et al. 2023, section 3.3 (the ring of
    blocks, "chunked" implementation).
  """
  caller = "sharded_clip_loss"
  validation.positive_integer(caller, "chunk_size", chunk_size, optional=True)
  x, y, valid, out_dtype = _inputs(
    caller, image_local, text_local, where, ("image_local", "text_local")
  )
  n = tiling.axis_size(caller, axis_name)
  acc = numerics.compute_dtype(out_dtype)
  s = _scalar(caller, "scale", scale, acc)
  x, y, s, valid = tiling.vary_together(x, y, s, valid)
  lse_row, lse_col = _sharded_stats(
    caller, x, y, s, valid, None, axis_name, n, chunk_size, collective
  )
  diag = s * jnp.sum(x.astype(acc) * y.astype(acc), axis=-1)
  return _clip_values(lse_row, lse_col, diag, valid, out_dtype)


@scoped
def sharded_siglip_loss(
  image_local: InputLike,
  text_local: InputLike,
  *,
  scale: float | jax.Array = SIGLIP_SCALE,
  bias: float | jax.Array = SIGLIP_BIAS,
  axis_name: str | tuple[str, ...],
  where: InputLike | None = None,
  chunk_size: int | None = None,
) -> jax.Array:
  """:func:`jaxloss.siglip_loss` of the global batch, from local rows.

  Call inside ``shard_map``: device ``k`` of mesh axis ``axis_name`` holds
  rows ``[k * b, (k + 1) * b)`` of the global batch. The result is the
  local rows' values of :func:`jaxloss.siglip_loss` on the global batch,
  with exact gradients (no factor of the device count).

  Collectives (the paper's chunked scheme): the text blocks travel around a
  ring of the ``n`` devices with ``ppermute``; at step ``k`` a device scores
  its images against the texts of device ``me - k`` (the positives are in
  the device's own block, step 0). Forward: ``n - 1`` steps, each moving
  one ``[b, D]`` block of the embeddings' dtype (and its ``[b]`` mask) per
  device. Backward: ``n`` steps, each moving the block and its float32
  gradient accumulator, which arrives back home after the last one. A
  replicated ``scale`` or ``bias`` gets the sum of the per-device
  gradients. For the global mean, ``psum`` the local sums and divide by the
  global row count (see :func:`jaxloss.sharded_clip_loss`).

  Args:
    image_local: ``[b, D]``, this device's images.
    text_local: ``[b, D]``, their captions.
    scale: as in :func:`jaxloss.siglip_loss` (replicated).
    bias: as in :func:`jaxloss.siglip_loss` (replicated).
    axis_name: the mesh axis the batch is sharded over.
    where: optional boolean ``[b]``: this device's rows that take part.
    chunk_size: columns per tile within a visiting block; None picks one.

  Returns:
    ``[b]`` values of the local rows.

  Raises:
    TypeError, ValueError: as :func:`jaxloss.siglip_loss`, and for an
      unbound ``axis_name``.

  Examples:
    >>> import jax, numpy as np
    >>> import jaxloss
    >>> from jax.sharding import PartitionSpec as P
    >>> mesh = jax.sharding.Mesh(jax.devices()[:1], ("batch",))
    >>> f = jax.shard_map(
    ...     lambda x, y: jaxloss.sharded_siglip_loss(
    ...         x, y, scale=1.0, bias=0.0, axis_name="batch"),
    ...     mesh=mesh, in_specs=(P("batch"), P("batch")),
    ...     out_specs=P("batch"))
    >>> f(np.eye(2, dtype=np.float32), np.eye(2, dtype=np.float32))
    Array([1.0064089, 1.0064089], dtype=float32)

  References:
    Zhai et al., "Sigmoid Loss for Language Image Pre-Training", 2023,
    section 3.3 and figure 1.
  """
  caller = "sharded_siglip_loss"
  validation.positive_integer(caller, "chunk_size", chunk_size, optional=True)
  x, y, valid, out_dtype = _inputs(
    caller, image_local, text_local, where, ("image_local", "text_local")
  )
  n = tiling.axis_size(caller, axis_name)
  acc = numerics.compute_dtype(out_dtype)
  s = _scalar(caller, "scale", scale, acc)
  bb = _scalar(caller, "bias", bias, acc)
  b = x.shape[0]
  cfg = _config("sigmoid", b, b, chunk_size, axis_name=axis_name, axis_size=n)
  x, y, s, bb, valid = tiling.vary_together(x, y, s, bb, valid)
  values, _ = cast(_Stats, tiled(cfg, x, y, s, bb, valid, valid, None))
  return jnp.where(valid, values, 0).astype(out_dtype)


@domains.declare(
  class_ids=domains.ClassIds(
    "caption_labels", "caption_logits", ignore="pad_id"
  )
)
@scoped
def coca_loss(
  image_embeddings: InputLike,
  text_embeddings: InputLike,
  caption_logits: InputLike,
  caption_labels: InputLike,
  *,
  scale: float | jax.Array = CLIP_SCALE,
  clip_loss_weight: float | jax.Array = 1.0,
  caption_loss_weight: float | jax.Array = 2.0,
  pad_id: int = 0,
  chunk_size: int | None = None,
) -> jax.Array:
  """CoCa's loss (Yu et al. 2022): contrastive plus captioning, per batch.

  ``loss = clip_loss_weight * mean_i clip_loss_i
  + caption_loss_weight * mean_{(b, t) : label != pad_id} CE(logits_bt,
  label_bt)``: :func:`jaxloss.clip_loss` on the (normalised) image and
  text embeddings, tiled by ``chunk_size``, plus the captioner's token
  cross-entropy averaged over the non-pad tokens of the batch (open_clip's
  ``CoCaLoss``, whose two terms this sums). A batch without caption tokens
  adds 0.

  Args:
    image_embeddings: ``[B, D]``.
    text_embeddings: ``[B, D]``.
    caption_logits: the captioner's logits ``[B, T, V]``.
    caption_labels: the caption's token ids ``[B, T]``.
    scale: the CLIP logit scale (``logit_scale.exp()`` in open_clip).
    clip_loss_weight: weight of the contrastive term.
    caption_loss_weight: weight of the captioning term.
    pad_id: the label of padding tokens (left out).
    chunk_size: tile width of the contrastive term (see ``clip_loss``).

  Returns:
    A scalar: the loss of the whole batch.

  Examples:
    >>> import jax.numpy as jnp
    >>> import jaxloss
    >>> e = jnp.eye(2, 3)
    >>> logits = jnp.zeros((2, 4, 5))
    >>> labels = jnp.array([[1, 2, 0, 0], [3, 0, 0, 0]])
    >>> jaxloss.coca_loss(e, e, logits, labels, scale=1.0,
    ...                   clip_loss_weight=0.0, caption_loss_weight=1.0)
    Array(1.609438, dtype=float32)

  References:
    Yu et al., "CoCa: Contrastive Captioners are Image-Text Foundation
    Models", 2022, eq. (3); open_clip ``CoCaLoss``.
  """
  caller = "coca_loss"
  _check_options(
    caller,
    chunk_size,
    scale=scale,
    clip_loss_weight=clip_loss_weight,
    caption_loss_weight=caption_loss_weight,
  )
  validation.integer(caller, "pad_id", pad_id)
  # The embeddings are checked here, so that errors name this loss.
  (x, y), _ = numerics.floats(
    caller, image_embeddings=image_embeddings, text_embeddings=text_embeddings
  )
  shapes.check_rank(caller, "image_embeddings", x, 2)
  shapes.check_same_shape(caller, image_embeddings=x, text_embeddings=y)
  empty.require_samples(caller, "image_embeddings", x)
  clip = clip_loss(x, y, scale=scale, chunk_size=chunk_size)
  total, count, out_dtype = _caption_terms(
    caller, caption_logits, caption_labels, pad_id, x.shape[0]
  )
  caption = numerics.safe_divide(total, count)
  value = clip_loss_weight * jnp.mean(clip.astype(total.dtype))
  return (value + caption_loss_weight * caption).astype(out_dtype)


def _caption_terms(caller, caption_logits, caption_labels, pad_id, rows):
  """``(sum of the token cross-entropies, count of tokens, out dtype)``
  of CoCa's captioning term over the labels that are not ``pad_id``, in
  the compute dtype; an id outside ``[0, V)`` that is not padding makes
  the sum NaN."""
  labels = numerics.labels(caller, "caption_labels", caption_labels)
  (logits,), out_dtype = numerics.floats(caller, caption_logits=caption_logits)
  shapes.check_rank(caller, "caption_logits", logits, 3)
  if labels.shape != logits.shape[:2] or logits.shape[0] != rows:
    raise ValueError(
      f"{caller}: caption_labels must be [B, T] and caption_logits "
      f"[B, T, V] with B = {rows} image-text pairs, got "
      f"caption_labels.shape={tuple(labels.shape)} and "
      f"caption_logits.shape={tuple(logits.shape)}"
    )
  tokens = labels != pad_id
  ids = jnp.where(tokens, labels, 0)
  ce = softmax.softmax_cross_entropy_sparse(ids, logits)
  ce = jnp.where(tokens, ce, 0.0)
  ce = numerics.nan_at_bad_ids(
    ce, labels, logits.shape[-1], ignore_index=pad_id
  )
  return jnp.sum(ce), jnp.sum(tokens, dtype=ce.dtype), out_dtype


def _teacher(caller, image, text, valid, names):
  """The teacher's ``[B, Dt]`` embeddings (checked like the student's, one
  row per row of ``valid``, masked rows zeroed), as constants."""
  tx, ty, _, _ = _inputs(caller, image, text, None, names)
  if tx.shape[0] != valid.shape[0]:
    raise ValueError(
      f"{caller}: {names[0]} must have one row per image-text pair (B = "
      f"{valid.shape[0]}), got {names[0]}.shape={tuple(tx.shape)}"
    )
  tx = jnp.where(valid[:, None], tx, 0)
  ty = jnp.where(valid[:, None], ty, 0)
  return lax.stop_gradient(tx), lax.stop_gradient(ty)


def _distill_inputs(caller, student, teacher, numbers, chunk_size, names):
  """Checks and converts a distillation loss's arguments.

  ``student = (image, text, where)``, ``teacher = (image, text)``,
  ``numbers``: ``scale``, ``teacher_scale`` and the two term weights (in
  that order), ``names``: the four embeddings' argument names. Returns
  ``(x, y, tx, ty, valid, out_dtype, (scale, teacher scale, clip weight,
  distill weight))``, the scalars in the compute dtype and the teacher's
  (embeddings and scale) constants.
  """
  _check_options(caller, chunk_size, **numbers)
  image, text, where = student
  x, y, valid, out_dtype = _inputs(caller, image, text, where, names[:2])
  tx, ty = _teacher(caller, teacher[0], teacher[1], valid, names[2:])
  acc = numerics.compute_dtype(out_dtype)
  s, ts, wc, wd = (_scalar(caller, k, v, acc) for k, v in numbers.items())
  return x, y, tx, ty, valid, out_dtype, (s, lax.stop_gradient(ts), wc, wd)


def _distill_values(row, col, diag, weights, valid, out_dtype):
  """Per-row values from the ``[2, B]`` row and column statistics (the
  student's log-sum-exp, the logits' mean under the teacher's softmax)."""
  (lse_r, mean_r), (lse_c, mean_c) = row, col
  w_clip, w_distill = weights
  contrastive = 0.5 * (lse_r + lse_c) - diag
  distill = 0.5 * ((lse_r - mean_r) + (lse_c - mean_c))
  v = w_clip * contrastive + w_distill * distill
  return jnp.where(valid, v, 0).astype(out_dtype)


@scoped
def distill_clip_loss(
  image_embeddings: InputLike,
  text_embeddings: InputLike,
  teacher_image_embeddings: InputLike,
  teacher_text_embeddings: InputLike,
  *,
  scale: float | jax.Array = CLIP_SCALE,
  teacher_scale: float | jax.Array = CLIP_SCALE,
  clip_loss_weight: float | jax.Array = 1.0,
  distill_loss_weight: float | jax.Array = 1.0,
  where: InputLike | None = None,
  chunk_size: int | None = None,
) -> jax.Array:
  """CLIP's loss plus distillation from a teacher CLIP, one value per pair.

  With the student's logits ``s = scale * image @ text.T`` and the
  teacher's ``t = teacher_scale * teacher_image @ teacher_text.T`` (both
  ``[B, B]``), ``p = softmax(t)`` and ``q = softmax(s)`` along rows
  (image-to-text) and ``p'``, ``q'`` along columns (text-to-image), row
  ``i``'s value is::

    loss_i = clip_loss_weight * clip_loss_i
           + distill_loss_weight * 0.5 * (-sum_j p[i, j] log q[i, j]
                                          - sum_j p'[j, i] log q'[j, i])

  with ``clip_loss_i`` as in :func:`jaxloss.clip_loss`. The mean over the
  rows is open_clip's ``DistillClipLoss``: its contrastive and distillation
  terms, summed (as its training loop sums them). The cross-entropy is
  taken as ``logsumexp_j s[i, j] - sum_j p[i, j] s[i, j]``. The teacher is a
  constant (a frozen model, as in open_clip's training): its embeddings and
  scale get no gradient; the student's embeddings and ``scale`` get exact
  ones. Rows where ``where`` is False take no part (in neither softmax)
  and give 0.

  The ``[B, B]`` matrices are never held: the columns are processed
  ``chunk_size`` at a time, with online log-sum-exps of the student's and
  the teacher's rows and the student's logits summed under the teacher's
  running exponentials; each tile's columns are final at once. A
  ``jax.custom_vjp`` recomputes both tiles in the backward pass, where the
  gradient of ``s[i, j]`` is ``q - p`` (distillation) and ``q - 1[i = j]``
  (contrastive). Memory grows like ``B * chunk_size``. For a mesh, see
  :func:`jaxloss.sharded_distill_clip_loss`.

  Args:
    image_embeddings: the student's ``[B, D]``.
    text_embeddings: the student's ``[B, D]``; row ``i`` is image ``i``'s
      caption.
    teacher_image_embeddings: the teacher's ``[B, Dt]`` (``Dt`` may differ
      from ``D``).
    teacher_text_embeddings: the teacher's ``[B, Dt]``.
    scale: the student's logit scale (``logit_scale.exp()``), learnable.
    teacher_scale: the teacher's logit scale (a constant).
    clip_loss_weight: weight of the contrastive term.
    distill_loss_weight: weight of the distillation term.
    where: optional boolean ``[B]``: the rows that take part.
    chunk_size: columns per tile; None picks one (see
      :func:`jaxloss.clip_loss`).

  Returns:
    ``[B]`` values in the student embeddings' floating dtype.

  Raises:
    TypeError: for non-floating embeddings or a non-boolean mask.
    ValueError: for embeddings that are not ``[B, D]`` (student) and
      ``[B, Dt]`` (teacher), a mask of the wrong shape, a non-scalar scale
      or weight, or a bad ``chunk_size``.

  Examples:
    >>> import jax.numpy as jnp
    >>> import jaxloss
    >>> x = jnp.array([[1.0, 0.0], [0.0, 1.0]])
    >>> jaxloss.distill_clip_loss(x, x, x, x, scale=1.0, teacher_scale=1.0,
    ...                           clip_loss_weight=0.0)
    Array([0.58220303, 0.58220303], dtype=float32)

  References:
    open_clip ``DistillClipLoss`` (Ilharco et al., OpenCLIP, 2021);
    Hinton et al., "Distilling the Knowledge in a Neural Network", 2015.
  """
  caller = "distill_clip_loss"
  x, y, tx, ty, valid, out_dtype, scalars = _distill_inputs(
    caller,
    (image_embeddings, text_embeddings, where),
    (teacher_image_embeddings, teacher_text_embeddings),
    dict(
      scale=scale,
      teacher_scale=teacher_scale,
      clip_loss_weight=clip_loss_weight,
      distill_loss_weight=distill_loss_weight,
    ),
    chunk_size,
    (
      "image_embeddings",
      "text_embeddings",
      "teacher_image_embeddings",
      "teacher_text_embeddings",
    ),
  )
  empty.require_samples(caller, "image_embeddings", x)
  acc = numerics.compute_dtype(out_dtype)
  s, ts, wc, wd = scalars
  b = x.shape[0]
  cfg = _config("distill", b, b, chunk_size, columns=True)
  row, col = cast(
    _Stats, tiled(cfg, x, (y, ty), s, None, valid, valid, (tx, ts))
  )
  diag = s * jnp.sum(x.astype(acc) * y.astype(acc), axis=-1)
  return _distill_values(row, col, diag, (wc, wd), valid, out_dtype)


@scoped
def sharded_distill_clip_loss(
  image_local: InputLike,
  text_local: InputLike,
  teacher_image_local: InputLike,
  teacher_text_local: InputLike,
  *,
  scale: float | jax.Array = CLIP_SCALE,
  teacher_scale: float | jax.Array = CLIP_SCALE,
  clip_loss_weight: float | jax.Array = 1.0,
  distill_loss_weight: float | jax.Array = 1.0,
  axis_name: str | tuple[str, ...],
  where: InputLike | None = None,
  chunk_size: int | None = None,
  collective: str = "ring",
) -> jax.Array:
  """:func:`jaxloss.distill_clip_loss` of the global batch, from local rows.

  Call inside ``shard_map``, with the student's and the teacher's
  embeddings sharded alike over ``axis_name`` (device ``k`` holds rows
  ``[k * b, (k + 1) * b)``). The result is the local rows' values of
  :func:`jaxloss.distill_clip_loss` on the global batch, with exact
  gradients for the student's embeddings and scale (no factor of the
  device count); the teacher gets none.

  Collectives as in :func:`jaxloss.sharded_clip_loss`, with the teacher's
  blocks (``[b, Dt]``) moving alongside the student's: ``"ring"``
  (``ppermute``; forward ``n - 1`` steps, backward ``n`` steps in which
  only the student's block carries a gradient accumulator) or
  ``"all_gather"`` (the four embedding blocks gathered; the student's
  gradients reduce-scattered).

  Args:
    image_local: ``[b, D]``, this device's student images.
    text_local: ``[b, D]``, their captions.
    teacher_image_local: ``[b, Dt]``, the teacher's images.
    teacher_text_local: ``[b, Dt]``, the teacher's captions.
    scale: the student's logit scale, as in :func:`jaxloss.distill_clip_loss`
      (replicated, as are the three below).
    teacher_scale: the teacher's logit scale.
    clip_loss_weight: weight of the student's CLIP term.
    distill_loss_weight: weight of the distillation term.
    axis_name: the mesh axis the batch is sharded over.
    where: optional boolean ``[b]``: this device's rows that take part.
    chunk_size: columns per tile within a block; None picks one.
    collective: ``"ring"`` or ``"all_gather"``.

  Returns:
    ``[b]`` values of the local rows.

  Raises:
    TypeError, ValueError: as :func:`jaxloss.distill_clip_loss`, and for an
      unbound ``axis_name`` or an unknown ``collective``.

  Examples:
    >>> import jax, numpy as np
    >>> import jaxloss
    >>> from jax.sharding import PartitionSpec as P
    >>> mesh = jax.sharding.Mesh(jax.devices()[:1], ("batch",))
    >>> f = jax.shard_map(
    ...     lambda x, y: jaxloss.sharded_distill_clip_loss(
    ...         x, y, x, y, scale=1.0, teacher_scale=1.0,
    ...         clip_loss_weight=0.0, axis_name="batch"),
    ...     mesh=mesh, in_specs=(P("batch"), P("batch")),
    ...     out_specs=P("batch"))
    >>> f(np.eye(2, dtype=np.float32), np.eye(2, dtype=np.float32))
    Array([0.58220303, 0.58220303], dtype=float32)

  References:
    open_clip ``DistillClipLoss``; Zhai et al. 2023, section 3.3 (the
    ring of blocks).
  """
  caller = "sharded_distill_clip_loss"
  x, y, tx, ty, valid, out_dtype, (s, ts, wc, wd) = _distill_inputs(
    caller,
    (image_local, text_local, where),
    (teacher_image_local, teacher_text_local),
    dict(
      scale=scale,
      teacher_scale=teacher_scale,
      clip_loss_weight=clip_loss_weight,
      distill_loss_weight=distill_loss_weight,
    ),
    chunk_size,
    ("image_local", "text_local", "teacher_image_local", "teacher_text_local"),
  )
  n = tiling.axis_size(caller, axis_name)
  acc = numerics.compute_dtype(out_dtype)
  x, y, tx, ty, s, ts, valid = tiling.vary_together(x, y, tx, ty, s, ts, valid)
  row, col = _sharded_stats(
    caller, x, y, s, valid, (tx, ty, ts), axis_name, n, chunk_size, collective
  )
  diag = s * jnp.sum(x.astype(acc) * y.astype(acc), axis=-1)
  return _distill_values(row, col, diag, (wc, wd), valid, out_dtype)


@scoped
def sharded_coca_loss(
  image_local: InputLike,
  text_local: InputLike,
  caption_logits_local: InputLike,
  caption_labels_local: InputLike,
  *,
  scale: float | jax.Array = CLIP_SCALE,
  clip_loss_weight: float | jax.Array = 1.0,
  caption_loss_weight: float | jax.Array = 2.0,
  pad_id: int = 0,
  axis_name: str | tuple[str, ...],
  chunk_size: int | None = None,
  collective: str = "ring",
) -> jax.Array:
  """:func:`jaxloss.coca_loss` of the global batch, from local rows.

  Call inside ``shard_map`` with every input sharded over ``axis_name``
  along its first axis (device ``k`` holds pairs ``[k * b, (k + 1) * b)``
  and their captions). The contrastive term is
  :func:`jaxloss.sharded_clip_loss` (``collective`` and ``chunk_size`` as
  there); the captioning cross-entropy is computed on each device's own
  tokens, and the two terms' sums and counts are combined with one
  ``psum``: the result is the global batch's loss (the mean over all ``n b``
  pairs, and over every non-pad token of the global batch), the same on
  every device (``out_specs=P()``), with exact gradients.

  Args:
    image_local: ``[b, D]``, this device's images.
    text_local: ``[b, D]``, their captions' embeddings.
    caption_logits_local: the captioner's logits ``[b, T, V]``.
    caption_labels_local: the caption token ids ``[b, T]``.
    scale: the logit scale, as in :func:`jaxloss.coca_loss` (replicated, as
      are the three below).
    clip_loss_weight: weight of the contrastive term.
    caption_loss_weight: weight of the captioning term.
    pad_id: the caption id that is not scored.
    axis_name: the mesh axis the batch is sharded over.
    chunk_size: columns per tile of the contrastive term.
    collective: ``"ring"`` or ``"all_gather"`` (contrastive term).

  Returns:
    A scalar: the loss of the global batch.

  Raises:
    TypeError, ValueError: as :func:`jaxloss.coca_loss`, and for an unbound
      ``axis_name`` or an unknown ``collective``.

  Examples:
    >>> import jax, numpy as np
    >>> import jaxloss
    >>> from jax.sharding import PartitionSpec as P
    >>> mesh = jax.sharding.Mesh(jax.devices()[:1], ("batch",))
    >>> f = jax.shard_map(
    ...     lambda e, lg, lb: jaxloss.sharded_coca_loss(
    ...         e, e, lg, lb, scale=1.0, clip_loss_weight=0.0,
    ...         caption_loss_weight=1.0, axis_name="batch"),
    ...     mesh=mesh, in_specs=P("batch"), out_specs=P())
    >>> f(np.eye(2, 3, dtype=np.float32), np.zeros((2, 4, 5), np.float32),
    ...   np.array([[1, 2, 0, 0], [3, 0, 0, 0]]))
    Array(1.609438, dtype=float32)

  References:
    Yu et al. 2022, eq. (3); open_clip ``CoCaLoss``.
  """
  caller = "sharded_coca_loss"
  _check_options(
    caller,
    chunk_size,
    scale=scale,
    clip_loss_weight=clip_loss_weight,
    caption_loss_weight=caption_loss_weight,
  )
  validation.integer(caller, "pad_id", pad_id)
  # The embeddings are checked here, so that errors name this loss.
  x, y, _, _ = _inputs(
    caller, image_local, text_local, None, ("image_local", "text_local")
  )
  n = tiling.axis_size(caller, axis_name)
  clip = sharded_clip_loss(
    x,
    y,
    scale=scale,
    axis_name=axis_name,
    chunk_size=chunk_size,
    collective=collective,
  )
  total, count, out_dtype = _caption_terms(
    caller, caption_logits_local, caption_labels_local, pad_id, x.shape[0]
  )
  parts = tiling.vary_together(jnp.sum(clip.astype(total.dtype)), total, count)
  clip_sum, total, count = tiling.psum_together(axis_name, *parts)
  value = clip_loss_weight * clip_sum / (n * x.shape[0])
  value = value + caption_loss_weight * numerics.safe_divide(total, count)
  return value.astype(out_dtype)


class CLIPLoss(Loss, fn=clip_loss, exclude=("where",)):
  """Loss object for :func:`jaxloss.clip_loss`."""

  scale: float | jax.Array = 14.285714285714285
  chunk_size: int | None = None


class CoCaLoss(Loss, fn=coca_loss, batch_level=True):
  """Loss object for :func:`jaxloss.coca_loss`."""

  scale: float | jax.Array = 14.285714285714285
  clip_loss_weight: float | jax.Array = 1.0
  caption_loss_weight: float | jax.Array = 2.0
  pad_id: int = 0
  chunk_size: int | None = None


class DistillCLIPLoss(Loss, fn=distill_clip_loss, exclude=("where",)):
  """Loss object for :func:`jaxloss.distill_clip_loss`."""

  scale: float | jax.Array = 14.285714285714285
  teacher_scale: float | jax.Array = 14.285714285714285
  clip_loss_weight: float | jax.Array = 1.0
  distill_loss_weight: float | jax.Array = 1.0
  chunk_size: int | None = None


class SigLIPLoss(Loss, fn=siglip_loss, exclude=("where",)):
  """Loss object for :func:`jaxloss.siglip_loss`."""

  scale: float | jax.Array = 10.0
  bias: float | jax.Array = -10.0
  chunk_size: int | None = None
