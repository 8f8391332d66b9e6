"""The sharded losses on a mesh over several processes, and their references.

Each :class:`Case` holds global inputs (NumPy, seeded), the partition of
each input over a ``data x model`` mesh, the loss written for the mesh
(``jax.shard_map`` over global arrays) and the same loss on one device.
Run as a program by each process of ``tests.multiprocess.launch``
(``python -m tests.multiprocess_losses OUT_DIR [CASE ...]``), it builds
the mesh over every process's devices (``data`` across processes, ``model``
inside each, or the transpose for the cases marked so), feeds each input
through ``jax.make_array_from_process_local_data`` from this process's part
only, computes each case's value and gradients and writes them to
``OUT_DIR/<process id>.npz``. tests/test_multiprocess.py compares them with
the single-device results computed in its own process.
"""

from __future__ import annotations

from collections.abc import Callable
import dataclasses
import sys
import time

import jax
import jax.numpy as jnp
from jax.sharding import Mesh
from jax.sharding import NamedSharding
from jax.sharding import PartitionSpec as P
import numpy as np

import jaxloss

B, T, D, V = 4, 3, 5, 16  # LM head: B sequences of T tokens, V / model ids
ROWS = 16  # contrastive batch: rows over every device of the mesh
IGNORE = -100
CE_OPTIONS = dict(label_smoothing=0.1, z_loss=1e-2, logit_softcap=3.0)
DISTILL_OPTIONS = dict(
  divergence="jsd",
  beta=0.3,
  temperature=1.7,
  hard_label_weight=0.5,
  z_loss=1e-2,
)
ROW, COLUMN = P("data"), P(None, "model")
AXES = ("data", "model")
ALL = P(AXES)  # rows over every device, across processes


@dataclasses.dataclass(frozen=True)
class Case:
  """One loss on the mesh against the same loss on one device.

  ``parallel(mesh)`` and ``single`` take the inputs in order and return a
  scalar; ``wrt`` are the positions of the inputs differentiated.
  """

  name: str
  inputs: Callable[[], tuple[np.ndarray, ...]]
  specs: tuple[P, ...]
  parallel: Callable[[Mesh], Callable[..., jax.Array]]
  single: Callable[..., jax.Array]
  wrt: tuple[int, ...]
  model_across_processes: bool = False


def _head(seed):
  rng = np.random.default_rng(seed)
  x = rng.normal(size=(B, T, D)).astype(np.float32)
  w = rng.normal(size=(D, V)).astype(np.float32)
  b = rng.normal(size=(V,)).astype(np.float32)
  y = rng.integers(0, V, (B, T)).astype(np.int32)
  # Uneven ignores: the first half of the batch holds more counted tokens,
  # so the global mean differs from the mean of per-process means.
  y[0, 1] = y[2, :] = y[3, 0] = IGNORE
  return x, w, b, y


def _pairs(seed):
  rng = np.random.default_rng(seed)
  x = rng.normal(size=(ROWS, D))
  y = x + 0.7 * rng.normal(size=(ROWS, D))
  unit = lambda a: (a / np.linalg.norm(a, axis=1, keepdims=True)).astype(
    np.float32
  )
  valid = np.ones(ROWS, bool)
  valid[[3, ROWS - 2, ROWS - 1]] = False  # a hole and a padded end
  scale, bias = np.float32(6.0), np.float32(-2.0)
  return unit(x), unit(y), valid, scale, bias


def _smap(body, mesh, specs):
  return jax.shard_map(body, mesh=mesh, in_specs=specs, out_specs=P())


def _global_token_mean(loss_fn):
  """A per-device mean over the global batch's counted tokens, summed over
  ``data``: the data-parallel pattern of docs/lm.md."""

  def body(*args):
    y = args[-1]
    n = jaxloss.count_tokens(y, ignore_index=IGNORE, axis_name="data")
    return jax.lax.psum(loss_fn(*args, normalizer=n), "data")

  return body


# ------------------------------------------------------------- the cases


def _vpce_parallel(mesh):
  body = _global_token_mean(
    lambda z, y, normalizer: jaxloss.vocab_parallel_cross_entropy(
      z, y, axis_name="model", normalizer=normalizer, **CE_OPTIONS
    )
  )
  par = _smap(body, mesh, (P("data", None, "model"), ROW))
  return lambda x, w, b, y: par(
    jnp.einsum("btd,dv->btv", x, w) + b[None, None], y
  )


def _vplce_parallel(mesh):
  body = _global_token_mean(
    lambda x, w, b, y, normalizer: jaxloss.vocab_parallel_linear_cross_entropy(
      x,
      w,
      y,
      axis_name="model",
      bias_shard=b,
      normalizer=normalizer,
      chunk_size=3,
      **CE_OPTIONS,
    )
  )
  return _smap(body, mesh, (ROW, COLUMN, P("model"), ROW))


def _ce_single(x, w, b, y):
  return jaxloss.linear_cross_entropy(x, w, y, bias=b, **CE_OPTIONS)


def _log_probs_parallel(mesh):
  def body(x, w, b, y):
    lp, ent = jaxloss.vocab_parallel_log_probs(
      x,
      w,
      y,
      axis_name="model",
      bias_shard=b,
      temperature=0.8,
      return_entropy=True,
      chunk_size=3,
    )
    return jax.lax.psum(_combine(lp, ent), "data")

  return _smap(body, mesh, (ROW, COLUMN, P("model"), ROW))


def _combine(lp, ent):
  return jnp.sum(lp) + 0.3 * jnp.sum(ent)


def _log_probs_single(x, w, b, y):
  lp, ent = jaxloss.linear_log_probs(
    x, w, y, bias=b, temperature=0.8, return_entropy=True
  )
  return _combine(lp, ent)


def _distill_inputs():
  x, w, _, y = _head(3)
  rng = np.random.default_rng(4)
  xt = rng.normal(size=(B, T, 4)).astype(np.float32)
  wt = (2 * rng.normal(size=(4, V))).astype(np.float32)
  return x, w, xt, wt, y


def _distill_parallel(mesh):
  body = _global_token_mean(
    lambda xs, ws, xt, wt, y, normalizer: (
      jaxloss.vocab_parallel_linear_distillation(
        xs,
        ws,
        xt,
        wt,
        y,
        axis_name="model",
        normalizer=normalizer,
        chunk_size=3,
        **DISTILL_OPTIONS,
      )
    )
  )
  return _smap(body, mesh, (ROW, COLUMN, ROW, COLUMN, ROW))


def _distill_single(xs, ws, xt, wt, y):
  return jaxloss.linear_distillation(xs, ws, xt, wt, y, **DISTILL_OPTIONS)


def _contrastive_parallel(loss, **options):
  def make(mesh):
    def body(x, y, valid, scale, bias):
      if loss == "clip":
        values = jaxloss.sharded_clip_loss(
          x, y, scale=scale, axis_name=AXES, where=valid, **options
        )
      else:
        values = jaxloss.sharded_siglip_loss(
          x,
          y,
          scale=scale,
          bias=bias,
          axis_name=AXES,
          where=valid,
          **options,
        )
      # The mean over the global batch's valid rows.
      total = jax.lax.psum(jnp.sum(values), ("data", "model"))
      count = jax.lax.psum(
        jnp.sum(valid, dtype=values.dtype), ("data", "model")
      )
      return total / count

    return _smap(body, mesh, (ALL, ALL, ALL, P(), P()))

  return make


def _contrastive_single(loss):
  def single(x, y, valid, scale, bias):
    if loss == "clip":
      values = jaxloss.clip_loss(x, y, scale=scale, where=valid)
    else:
      values = jaxloss.siglip_loss(x, y, scale=scale, bias=bias, where=valid)
    return jnp.sum(values) / jnp.sum(valid)

  return single


def _distill_pairs(seed):
  x, y, valid, scale, _ = _pairs(seed)
  tx, ty, _, _, _ = _pairs(seed + 100)
  return x, y, tx[:, :3], ty[:, :3], valid, scale


def _distill_clip_parallel(mesh):
  def body(x, y, tx, ty, valid, scale):
    values = jaxloss.sharded_distill_clip_loss(
      x,
      y,
      tx,
      ty,
      scale=scale,
      teacher_scale=8.0,
      axis_name=AXES,
      where=valid,
      chunk_size=1,
    )
    total, count = jax.lax.psum(
      (jnp.sum(values), jnp.sum(valid, dtype=values.dtype)), AXES
    )
    return total / count

  return _smap(body, mesh, (ALL,) * 5 + (P(),))


def _distill_clip_single(x, y, tx, ty, valid, scale):
  values = jaxloss.distill_clip_loss(
    x, y, tx, ty, scale=scale, teacher_scale=8.0, where=valid
  )
  return jnp.sum(values) / jnp.sum(valid)


def _coca_inputs(seed):
  x, y, _, scale, _ = _pairs(seed)
  rng = np.random.default_rng(seed)
  logits = rng.normal(size=(ROWS, T, V)).astype(np.float32)
  labels = rng.integers(0, V, (ROWS, T)).astype(np.int32)
  labels[:, -1] = 0  # padding (pad_id 0)
  labels[: ROWS // 2, :] = 0  # the first half of the rows: no tokens
  labels[0, 0] = 3
  return x, y, logits, labels, scale


def _coca_parallel(mesh):
  def body(x, y, lg, lb, scale):
    return jaxloss.sharded_coca_loss(
      x, y, lg, lb, scale=scale, axis_name=AXES, chunk_size=1
    )

  return _smap(body, mesh, (ALL,) * 4 + (P(),))


def _count_parallel(mesh):
  return _smap(
    lambda y: jaxloss.count_tokens(y, ignore_index=IGNORE, axis_name="data"),
    mesh,
    (ROW,),
  )


HEAD_SPECS = (ROW, COLUMN, P("model"), ROW)
PAIR_SPECS = (ALL, ALL, ALL, P(), P())

CASES = {
  case.name: case
  for case in [
    Case(
      "vocab_parallel_cross_entropy",
      lambda: _head(0),
      HEAD_SPECS,
      _vpce_parallel,
      _ce_single,
      wrt=(0, 1, 2),
    ),
    Case(
      "vocab_parallel_linear_cross_entropy",
      lambda: _head(1),
      HEAD_SPECS,
      _vplce_parallel,
      _ce_single,
      wrt=(0, 1, 2),
    ),
    # The vocabulary across processes: the loss's own collectives (pmax,
    # psum over "model") cross the process boundary.
    Case(
      "vocab_parallel_linear_cross_entropy[model across processes]",
      lambda: _head(1),
      HEAD_SPECS,
      _vplce_parallel,
      _ce_single,
      wrt=(0, 1, 2),
      model_across_processes=True,
    ),
    Case(
      "vocab_parallel_log_probs",
      lambda: _head(2),
      HEAD_SPECS,
      _log_probs_parallel,
      _log_probs_single,
      wrt=(0, 1, 2),
    ),
    Case(
      "vocab_parallel_linear_distillation",
      _distill_inputs,
      (ROW, COLUMN, ROW, COLUMN, ROW),
      _distill_parallel,
      _distill_single,
      wrt=(0, 1),
    ),
    Case(
      "sharded_clip_loss[ring]",
      lambda: _pairs(5),
      PAIR_SPECS,
      _contrastive_parallel("clip", chunk_size=1, collective="ring"),
      _contrastive_single("clip"),
      wrt=(0, 1, 3),
    ),
    Case(
      "sharded_clip_loss[all_gather]",
      lambda: _pairs(6),
      PAIR_SPECS,
      _contrastive_parallel("clip", collective="all_gather"),
      _contrastive_single("clip"),
      wrt=(0, 1, 3),
    ),
    Case(
      "sharded_siglip_loss",
      lambda: _pairs(7),
      PAIR_SPECS,
      _contrastive_parallel("siglip", chunk_size=1),
      _contrastive_single("siglip"),
      wrt=(0, 1, 3, 4),
    ),
    Case(
      "sharded_distill_clip_loss[ring]",
      lambda: _distill_pairs(8),
      (ALL,) * 5 + (P(),),
      _distill_clip_parallel,
      _distill_clip_single,
      wrt=(0, 1, 5),
    ),
    Case(
      "sharded_coca_loss[ring]",
      lambda: _coca_inputs(9),
      (ALL,) * 4 + (P(),),
      _coca_parallel,
      lambda x, y, lg, lb, s: jaxloss.coca_loss(x, y, lg, lb, scale=s),
      wrt=(0, 1, 2, 4),
    ),
    Case(
      "count_tokens",
      lambda: (_head(0)[3],),
      (ROW,),
      _count_parallel,
      lambda y: jaxloss.count_tokens(y, ignore_index=IGNORE),
      wrt=(),
    ),
    # The MoE router losses' global statistics: add their Case here.
  ]
}


def value_and_grads(fn, wrt):
  """``fn``'s value and its gradients with respect to the inputs ``wrt``."""
  if not wrt:
    return lambda *args: (fn(*args), ())
  return jax.value_and_grad(fn, argnums=wrt)


def single_results(case):
  """The case on one device, in this process: ``(value, grads)``."""
  return jax.jit(value_and_grads(case.single, case.wrt))(*case.inputs())


def key(case, what):
  return f"{case.name}::{what}"


# ------------------------------------------------------ in each process


def _mesh(model_across_processes):
  grid = np.array(jax.devices()).reshape(
    jax.process_count(), jax.local_device_count()
  )
  return Mesh(grid.T if model_across_processes else grid, ("data", "model"))


def run(out_dir, names, fail_in=None):
  """Computes the cases named and writes them; process ``fail_in`` raises
  instead, after its inputs are ready and before the first collective."""
  from tests import multiprocess

  results = {}
  for name in names:
    case = CASES[name]
    start = time.perf_counter()
    mesh = _mesh(case.model_across_processes)
    args = [
      multiprocess.global_array(a, NamedSharding(mesh, spec))
      for a, spec in zip(case.inputs(), case.specs, strict=True)
    ]
    fn = jax.jit(
      value_and_grads(case.parallel(mesh), case.wrt),
      out_shardings=NamedSharding(mesh, P()),  # every process gets it all
    )
    if jax.process_index() == fail_in:
      raise RuntimeError(FAILURE.format(fail_in))
    value, grads = fn(*args)
    results[key(case, "value")] = np.asarray(value)
    for i, g in zip(case.wrt, grads, strict=True):
      results[key(case, f"grad{i}")] = np.asarray(g)
    print(f"{name}: {time.perf_counter() - start:.2f} s", flush=True)
  np.savez(f"{out_dir}/{jax.process_index()}.npz", **results)


FAILURE = "process {} fails before the collective"
FAIL_IN = "--fail-in="


def main(argv):
  """``OUT_DIR [--fail-in=ID] [CASE ...]``: with ``--fail-in``, the runtime's
  heartbeat timeout is 3 s, so that the others stop soon."""
  from tests import multiprocess

  out, *rest = argv
  names = [a for a in rest if not a.startswith(FAIL_IN)]
  fail_in = [int(a[len(FAIL_IN) :]) for a in rest if a.startswith(FAIL_IN)]
  if fail_in:
    multiprocess.initialize(heartbeat_timeout_seconds=3)
  else:
    multiprocess.initialize()
  jax.config.update("jax_numpy_rank_promotion", "raise")
  run(out, names or list(CASES), fail_in[0] if fail_in else None)


if __name__ == "__main__":
  main(sys.argv[1:])
