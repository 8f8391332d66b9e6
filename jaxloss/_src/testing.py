"""The loss contracts, as checks that return results instead of asserting.

``check_loss`` runs every contract on one loss; the library's own generic
tests (``tests/test_generic.py``) call the same checks on every loss of its
registry, so the tool a user runs is the one the library trusts.

A loss under test is held by :class:`Programs`: its function, and the
programs compiled from it, each built once and shared by every contract
(the value program serves the ``jit``, ``nan``, ``half_precision`` and
``retrace`` contracts and the gradient check's function evaluations). On a
CPU, compiling a small loss costs far more than running it, so sharing
compiled programs is what keeps a check cheap.

Contracts (each gives a :class:`ContractResult`):

* ``jit``: the eager call equals the jitted one.
* ``vmap``: for a per-sample loss, ``vmap`` over the batch (a batch of one
  inside each mapped call) equals the batched call.
* ``retrace``: a second call with new values of the same shapes reuses the
  compiled program.
* ``gradient``, ``second_order``: in float64, ``<grad f, t>`` against the
  central difference of ``f`` along a random ``t``, and ``<H t, u>``
  (reverse over reverse) against the central difference of ``<grad f, u>``.
* ``edges``: value and gradient finite at edge inputs (the user's, and those
  the inputs imply: zero vectors, prediction equal to target, saturated
  logits, hard probabilities, all-masked).
* ``nan``: a NaN in a differentiable input gives a NaN value.
* ``half_precision``: float16 / bfloat16 inputs give that dtype back, close
  to the float32 result (computed in float32, as the dtype policy says).
* ``reduction``: a loss object's ``sample_weight`` and ``where`` do what
  :func:`jaxloss.reduce` promises, and an all-masked batch gives 0 with a
  finite gradient.
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Iterator
from collections.abc import Mapping
from collections.abc import Sequence
import dataclasses
import functools
import inspect
import time
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from jaxloss._src import objects
from jaxloss._src import reduction as reduction_lib

CONTRACTS = (
  "jit",
  "vmap",
  "retrace",
  "gradient",
  "second_order",
  "edges",
  "nan",
  "half_precision",
  "reduction",
)
# Argument names that hold data, not something a loss is differentiated in.
_DATA_NAMES = frozenset(
  ("y_true", "labels", "label", "targets", "target", "where", "mask")
)
KINDS = ("real", "logits", "probabilities", "vectors", "positive", "none")
_SATURATED = 1e4


# ---------------------------------------------------------------- results


@dataclasses.dataclass(frozen=True)
class ContractResult:
  """One contract's outcome.

  Attributes:
    name: the contract (one of ``CONTRACTS``).
    status: ``"pass"``, ``"fail"`` or ``"skip"``.
    error: the worst error seen (the contract's own measure: an absolute
      difference, or a count of non-finite entries), or None.
    tolerance: what the error was held to, or None.
    input: which input showed the worst error ("example inputs",
      "edge 2: y_pred all zeros", ...).
    inputs: the arrays of that input, when there are any.
    message: one readable line.
  """

  name: str
  status: str
  message: str = ""
  error: float | None = None
  tolerance: float | None = None
  input: str = ""
  inputs: tuple[Any, ...] | None = None

  @property
  def passed(self) -> bool:
    """False only for a failure (a skipped contract is not a failure)."""
    return self.status != "fail"

  def __str__(self) -> str:
    parts = [f"{self.status.upper():4s} {self.name:14s}"]
    if self.error is not None:
      bound = f" (tol {self.tolerance:.1e})" if self.tolerance else ""
      parts.append(f"worst error {self.error:.2e}{bound}")
    if self.input:
      parts.append(f"at {self.input}")
    if self.message:
      parts.append(f"-- {self.message}")
    return " ".join(parts)


def _pass(name, error=None, tol=None, where="", message=""):
  return ContractResult(name, "pass", message, error, tol, where)


def _fail(name, message, error=None, tol=None, where="", inputs=None):
  return ContractResult(name, "fail", message, error, tol, where, inputs)


def _skip(name, message):
  return ContractResult(name, "skip", message)


class LossContractError(AssertionError):
  """Raised by ``check_loss(..., strict=True)`` when a contract fails."""


@dataclasses.dataclass(frozen=True)
class Report:
  """Every contract's result for one loss.

  ``report["gradient"]`` is one :class:`ContractResult`; ``report.passed``
  is True when none failed; ``str(report)`` is a readable table;
  ``seconds`` is the CPU time the check took.
  """

  name: str
  results: Mapping[str, ContractResult]
  seconds: float = 0.0

  def __getitem__(self, contract: str) -> ContractResult:
    return self.results[contract]

  def __iter__(self) -> Iterator[ContractResult]:
    return iter(self.results.values())

  @property
  def passed(self) -> bool:
    return all(r.passed for r in self.results.values())

  @property
  def failures(self) -> list[ContractResult]:
    return [r for r in self.results.values() if not r.passed]

  def __str__(self) -> str:
    failed = len(self.failures)
    verdict = (
      f"{failed} of {len(self.results)} contracts failed"
      if failed
      else "all contracts hold"
    )
    head = f"check_loss({self.name}): {verdict} ({self.seconds:.1f} s)"
    return "\n".join([head] + [f"  {r}" for r in self.results.values()])

  def raise_for_failures(self) -> Report:
    """Raises :class:`LossContractError` naming every failed contract."""
    if not self.passed:
      raise LossContractError(str(self))
    return self


# ---------------------------------------------------------------- programs


def _sum_values(fn):
  return lambda *a: jnp.sum(fn(*a))


class Programs:
  """A loss function and the programs compiled from it, each built once.

  ``jitted`` is the one value program: every contract that only needs values
  calls it (a new input signature compiles it once more, inside the same
  ``jax.jit``). It counts its traces, so the retrace contract needs no
  program of its own.
  """

  def __init__(self, fn: Callable[..., Any], diff_argnums: Sequence[int]):
    self.fn = fn
    self.diff_argnums = tuple(diff_argnums)
    self.traces = 0

    def counted(*args):
      self.traces += 1
      return fn(*args)

    self.jitted = jax.jit(counted)

  @functools.cached_property
  def vmapped(self):
    """The loss mapped over the leading axis, a batch of one per call."""
    one = lambda *a: self.fn(*(x[None] for x in a))[0]  # noqa: E731
    return jax.jit(jax.vmap(one))

  @functools.cached_property
  def value_and_grad(self):
    """Sum of values and its gradient in the differentiable inputs."""
    return jax.jit(
      jax.value_and_grad(_sum_values(self.fn), argnums=self.diff_argnums)
    )


def _describe(args) -> str:
  return ", ".join(f"{np.asarray(a).dtype}{list(np.shape(a))}" for a in args)


def _max_abs_diff(got, want) -> float:
  got = np.asarray(got, np.float64)
  want = np.asarray(want, np.float64)
  both_nan = np.isnan(got) & np.isnan(want)
  diff = np.where(both_nan, 0.0, np.abs(got - want))
  return float(np.max(diff, initial=0.0))


def _allclose(name, got, want, rtol, atol, where, inputs):
  """Pass when ``|got - want| <= atol + rtol |want|`` everywhere."""
  got = np.asarray(got, np.float64)
  want = np.asarray(want, np.float64)
  if got.shape != want.shape:
    return _fail(
      name,
      f"shapes differ: {got.shape} vs {want.shape}",
      where=where,
      inputs=inputs,
    )
  excess = np.abs(got - want) - (atol + rtol * np.abs(want))
  excess = np.where(np.isnan(got) & np.isnan(want), -1.0, excess)
  excess = np.where(np.isnan(excess), np.inf, excess)
  error = _max_abs_diff(got, want)
  if np.any(excess > 0):
    i = np.unravel_index(np.argmax(excess), excess.shape) if excess.ndim else ()
    return _fail(
      name,
      f"value {float(got[i]):.6g} vs {float(want[i]):.6g} at index "
      f"{tuple(map(int, i))}",
      error=error,
      tol=atol + rtol * float(np.max(np.abs(want), initial=0.0)),
      where=where,
      inputs=inputs,
    )
  tol = atol + rtol * float(np.max(np.abs(want), initial=0.0))
  return _pass(name, error, tol, where)


# ---------------------------------------------------------------- checks


def check_jit(programs: Programs, args, *, eager=None, rtol=2e-6, atol=1e-6):
  """``jit``: the eager call (``eager``, when already computed) equals the
  compiled one."""
  try:
    if eager is None:
      eager = programs.fn(*args)
  except Exception as e:  # noqa: BLE001 - reported, not raised
    return _fail("jit", f"the eager call raised {type(e).__name__}: {e}")
  try:
    jitted = programs.jitted(*args)
  except Exception as e:  # noqa: BLE001
    return _fail(
      "jit",
      f"not jit-safe: under jax.jit it raised {type(e).__name__}: "
      f"{_first_line(e)}",
      where="example inputs",
    )
  return _allclose(
    "jit", jitted, eager, rtol, atol, "example inputs (jit vs eager)", args
  )


def _first_line(e: Exception) -> str:
  text = str(e).strip().splitlines()
  return text[0] if text else ""


def check_vmap(programs: Programs, args, *, rtol=2e-5, atol=1e-6):
  """``vmap``: mapping over the batch equals the batched call."""
  batched = programs.jitted(*args)
  try:
    mapped = programs.vmapped(*args)
  except Exception as e:  # noqa: BLE001
    return _fail("vmap", f"vmap raised {type(e).__name__}: {_first_line(e)}")
  result = _allclose(
    "vmap",
    mapped,
    batched,
    rtol,
    atol,
    "example inputs (vmap over samples vs batched call)",
    args,
  )
  if not result.passed:
    return dataclasses.replace(
      result,
      message=result.message + "; a sample's value depends on the other "
      "samples (the loss reduces over the batch axis)",
    )
  return result


def check_retrace(programs: Programs, args, other_args):
  """``retrace``: new values of the same shapes reuse the program."""
  programs.jitted(*args)
  before = programs.traces
  programs.jitted(*other_args)
  extra = programs.traces - before
  if extra:
    return _fail(
      "retrace",
      f"a second call with the same shapes ({_describe(args)}) traced the "
      f"loss {extra} more time(s)",
      error=float(extra),
      tol=0.0,
      where="second call",
    )
  return _pass("retrace", 0.0, 0.0, "second call")


def _inner(xs, ys):
  return sum(jnp.vdot(x, y) for x, y in zip(xs, ys, strict=True))


def check_gradients(
  f: Callable[..., jax.Array],
  args: Sequence[jax.Array],
  *,
  eps: float = 1e-4,
  order: int = 2,
  atol: float = 1e-4,
  rtol: float = 1e-4,
  seed: int = 0,
) -> list[ContractResult]:
  """``gradient`` and ``second_order``: derivatives of a scalar ``f``
  against central differences, with each program compiled once.

  What ``jax.test_util.check_grads(f, args, order=2, modes=("rev",))``
  checks, in three compiled programs (``f``, its gradient, the
  Hessian-vector product) instead of one per transformation and order.
  First order: ``<grad f(x), t>`` against the central difference of ``f``
  along a random ``t``. Second order: ``<H t, u>``, the reverse-over-reverse
  derivative of ``<grad f(x), u>``, against the central difference of
  ``<grad f, u>`` along ``t``. Call it with float64 ``args`` (and x64 on).
  """
  rng = np.random.default_rng(seed)
  argnums = tuple(range(len(args)))
  t = [jnp.asarray(rng.normal(size=a.shape), a.dtype) for a in args]
  u = [jnp.asarray(rng.normal(size=a.shape), a.dtype) for a in args]
  value = jax.jit(f)
  grad = jax.jit(jax.grad(f, argnums=argnums))
  plus = [a + eps * d for a, d in zip(args, t, strict=True)]
  minus = [a - eps * d for a, d in zip(args, t, strict=True)]
  where = f"inputs {_describe(args)} (float64) along a random direction"
  results = [
    _compare_derivative(
      "gradient",
      _inner(grad(*args), t),
      (value(*plus) - value(*minus)) / (2 * eps),
      atol,
      rtol,
      where,
      args,
    )
  ]
  if order >= 2:
    hessian_u = jax.jit(
      jax.grad(lambda *x: _inner(jax.grad(f, argnums=argnums)(*x), u), argnums)
    )
    results.append(
      _compare_derivative(
        "second_order",
        _inner(hessian_u(*args), t),
        (_inner(grad(*plus), u) - _inner(grad(*minus), u)) / (2 * eps),
        atol,
        rtol,
        where,
        args,
      )
    )
  return results


def _compare_derivative(name, analytic, numeric, atol, rtol, where, args):
  analytic, numeric = float(analytic), float(numeric)
  error = abs(analytic - numeric)
  tol = atol + rtol * abs(numeric)
  what = "<grad f, t>" if name == "gradient" else "<H t, u>"
  message = f"{what} = {analytic:.6g}, central difference = {numeric:.6g}"
  if not error <= tol:  # NaN fails too
    ratio = analytic / numeric if numeric else float("nan")
    return _fail(
      name,
      message + f" (ratio {ratio:.4g})",
      error,
      tol,
      where,
      tuple(np.asarray(a) for a in args),
    )
  return _pass(name, error, tol, where, message)


def check_edges(programs: Programs, cases) -> ContractResult:
  """``edges``: value and gradient finite at every edge input.

  ``cases`` are ``(description, args)`` pairs; one compiled program per
  input signature serves them all.
  """
  for description, case in cases:
    case = tuple(jnp.asarray(a) for a in case)
    try:
      value, grads = programs.value_and_grad(*case)
    except Exception as e:  # noqa: BLE001
      return _fail(
        "edges",
        f"raised {type(e).__name__}: {_first_line(e)}",
        where=description,
        inputs=case,
      )
    bad_value = int(np.sum(~np.isfinite(np.asarray(value))))
    bad_grads = [int(np.sum(~np.isfinite(np.asarray(g)))) for g in grads]
    if bad_value or any(bad_grads):
      which = [
        f"argument {i}"
        for i, n in zip(programs.diff_argnums, bad_grads, strict=True)
        if n
      ]
      what = ["value"] if bad_value else []
      what += [f"gradient in {', '.join(which)}"] if which else []
      return _fail(
        "edges",
        f"non-finite {' and '.join(what)}",
        error=float(bad_value + sum(bad_grads)),
        tol=0.0,
        where=description,
        inputs=case,
      )
  if not cases:
    return _skip("edges", "no edge inputs (name some with edges=[...])")
  return _pass("edges", 0.0, 0.0, f"{len(cases)} edge inputs")


def check_nan(
  programs: Programs, args, *, argnums: Sequence[int], per_sample: bool
) -> ContractResult:
  """``nan``: NaN in the first sample of the arguments ``argnums`` (all of
  them at once: one alone may sit wholly under a mask) gives a NaN value
  (in that sample's value, for a per-sample loss)."""
  poisoned = list(args)
  for i in argnums:
    x = np.array(args[i], copy=True)
    x[0] = np.nan
    poisoned[i] = x
  values = np.asarray(programs.jitted(*poisoned))
  shown = values[0] if per_sample and values.ndim else values
  where = f"the first sample of argument(s) {tuple(argnums)} NaN"
  if not np.isnan(shown).any():
    return _fail(
      "nan",
      f"NaN inputs gave the finite value "
      f"{np.array2string(shown, precision=6)}: the loss turns NaN into a "
      "number",
      error=1.0,
      tol=0.0,
      where=where,
      inputs=tuple(poisoned),
    )
  return _pass("nan", where=where)


def check_half_precision(
  programs: Programs, args, dtype, *, rtol: float = 5e-2, out_dtype=None
) -> ContractResult:
  """``half_precision``: half inputs give that dtype (or ``out_dtype``,
  for a loss whose policy returns another), close to float32."""
  half = tuple(
    jnp.asarray(a, dtype)
    if np.issubdtype(np.asarray(a).dtype, np.floating)
    else a
    for a in args
  )
  got = programs.jitted(*half)
  name = jnp.dtype(dtype).name
  expected = jnp.dtype(dtype if out_dtype is None else out_dtype)
  if got.dtype != expected:
    return _fail(
      "half_precision",
      f"{name} inputs gave {got.dtype} values, expected {expected.name}"
      + (" (half in must give half out)" if out_dtype is None else ""),
      where=f"example inputs in {name}",
      inputs=half,
    )
  want = programs.jitted(*args)
  return _allclose(
    "half_precision",
    np.asarray(got, np.float32),
    want,
    rtol,
    rtol,
    f"example inputs in {name} vs float32",
    half,
  )


@jax.jit
def _weighted_calls(losses, args, weight, where):
  """Each object with keyword and positional weights, and ``where``."""
  keyword = [lo(*args, sample_weight=weight) for lo in losses]
  positional = [lo(*args, weight) for lo in losses]
  masked = (
    [lo(*args, where=where) for lo in losses] if where is not None else None
  )
  return keyword, positional, masked


def check_reductions(
  losses: Sequence[objects.Loss],
  args,
  values,
  weight,
  *,
  where=None,
  rtol: float = 1e-6,
  atol: float = 1e-7,
) -> ContractResult:
  """``reduction``: each object's weighted (keyword and Keras's positional
  ``sample_weight``) and masked calls against :func:`jaxloss.reduce` of
  ``values``, all objects in one compiled program."""
  keyword, positional, masked = _weighted_calls(
    list(losses), tuple(args), weight, where
  )
  for k, loss in enumerate(losses):
    auto = None
    if loss.where_fn is not None:
      auto = loss.where_fn(*args, values, **loss.hyper_parameters())
    checks = [("sample_weight", keyword[k], weight, auto)]
    if masked is not None:
      assert where is not None  # masked calls are made only with a mask
      mask = where if auto is None else jnp.logical_and(where, auto)
      checks.append(("where", masked[k], None, mask))
    for label, got, w, mask in checks:
      want = reduction_lib.reduce(
        values, sample_weight=w, where=mask, reduction=loss.reduction
      )
      result = _allclose(
        "reduction",
        got,
        want,
        rtol,
        atol,
        f"reduction={loss.reduction!r} with {label}",
        tuple(args),
      )
      if not result.passed:
        return result
    result = _allclose(
      "reduction",
      positional[k],
      keyword[k],
      rtol,
      atol,
      f"reduction={loss.reduction!r}: positional vs keyword sample_weight",
      tuple(args),
    )
    if not result.passed:
      return result
  return _pass("reduction", where="sample_weight and where")


def check_all_masked(loss: objects.Loss, args, diff_argnums, shape):
  """An all-masked batch gives 0 with a finite gradient."""
  none = jnp.zeros(shape[:1], bool)

  def f(*diff):
    full = list(args)
    for i, d in zip(diff_argnums, diff, strict=True):
      full[i] = d
    return loss(*full, where=none)

  value, grads = jax.jit(
    jax.value_and_grad(f, tuple(range(len(diff_argnums))))
  )(*(args[i] for i in diff_argnums))
  finite = all(np.all(np.isfinite(g)) for g in grads)
  if loss.reduction in ("none", None):
    ok = finite and not np.any(np.asarray(value))
  else:
    ok = finite and float(value) == 0.0
  if not ok:
    return _fail(
      "reduction",
      f"an all-masked batch gave {np.asarray(value)!r}"
      + ("" if finite else " with a non-finite gradient")
      + " (reduce promises 0 with finite gradients)",
      where="where all False",
      inputs=tuple(args),
    )
  return None


# ------------------------------------------------------------- check_loss


def _subject(loss, args, rng):
  """``(name, per-sample fn, loss object or None, input names)``."""
  if isinstance(loss, objects.Loss):
    name = type(loss).__name__
    if isinstance(loss, objects.LossFunctionWrapper):
      name = f"wrap({getattr(loss.function, '__name__', 'fn')})"
    return name, loss.values, loss, tuple(loss.inputs)
  kind = _flax_kind(loss)
  if kind is not None:
    obj = getattr(loss, "loss", None)  # LossModule(jaxloss.Huber()), nnx
    if not isinstance(obj, objects.Loss) and kind == "linen":
      object_of = getattr(loss, "loss_object", None)  # jaxloss.flax.linen.X
      obj = object_of() if callable(object_of) else None
    if isinstance(obj, objects.Loss):
      return type(loss).__name__, obj.values, obj, tuple(obj.inputs)
    if kind == "linen":
      variables = loss.init(jax.random.key(int(rng.integers(2**31))), *args)
      fn = functools.partial(loss.apply, variables)
      return type(loss).__name__, fn, None, _input_names(loss.__call__)
  if not callable(loss):
    raise TypeError(
      f"check_loss: fn must be a loss function, a loss object or a Flax "
      f"module, got {type(loss).__name__}"
    )
  name = getattr(loss, "__name__", type(loss).__name__)
  return name, loss, None, _input_names(loss)


def _flax_kind(loss) -> str | None:
  """ "linen" or "nnx" for a Flax module, else None (Flax not imported)."""
  import sys  # noqa: PLC0415

  if "flax" not in sys.modules:
    return None
  from flax import nnx  # noqa: PLC0415
  import flax.linen as nn  # noqa: PLC0415

  if isinstance(loss, nn.Module):
    return "linen"
  if isinstance(loss, nnx.Module):
    return "nnx"
  return None


def _input_names(fn) -> tuple[str, ...]:
  try:
    params = inspect.signature(fn).parameters.values()
  except (TypeError, ValueError):
    return ()
  return tuple(
    p.name
    for p in params
    if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
  )


def _is_float(x) -> bool:
  return np.issubdtype(np.asarray(x).dtype, np.floating)


def _as_inputs(args, dtype):
  return tuple(
    np.asarray(a, dtype) if _is_float(a) else np.asarray(a) for a in args
  )


def _other_values(args, rng, diff_argnums):
  """The example inputs with new values (same shapes) in the
  differentiable ones."""
  return tuple(
    (a + 0.01 * rng.standard_normal(a.shape)).astype(a.dtype)
    if i in diff_argnums
    else a
    for i, a in enumerate(args)
  )


def implied_edges(args, diff_argnums, kinds, masks, names):
  """The edge inputs the inputs' kinds imply, as ``(description, args)``.

  ``"real"`` (the default): all zeros, and equal to the same-shape argument
  that is not differentiated (the target: a zero residual). ``"logits"``:
  zero logits (ties) and saturated ``+-1e4``. ``"probabilities"``: zeros and
  hard 0/1. ``"vectors"``: zero vectors. ``"positive"`` (a scale or a
  variance): ``1e-12``. ``"none"``: no implied edge. Masks: all False.
  """
  cases = []

  def named(i):
    return names[i] if i < len(names) else f"argument {i}"

  def replaced(i, value):
    out = list(args)
    out[i] = np.asarray(value, args[i].dtype)
    return tuple(out)

  for i in diff_argnums:
    x = args[i]
    kind = kinds.get(i, "real")
    if kind not in KINDS:
      raise ValueError(
        f"check_loss: kinds[{i}] must be one of {KINDS}, got {kind!r}"
      )
    if kind == "none":
      continue
    if kind == "positive":
      tiny = np.full_like(x, 1e-12)
      cases.append((f"{named(i)} near zero (1e-12)", replaced(i, tiny)))
      continue
    zeros = {"logits": "zero logits (ties)", "vectors": "zero vectors"}
    description = f"{named(i)} {zeros.get(kind, 'all zeros')}"
    cases.append((description, replaced(i, np.zeros_like(x))))
    if kind == "logits":
      sign = np.where(np.arange(x.size).reshape(x.shape) % 2, 1.0, -1.0)
      cases.append(
        (f"{named(i)} saturated (+-{_SATURATED:g})", replaced(i, sign * 1e4))
      )
    if kind == "probabilities" and x.ndim:
      hard = (x == x.max(axis=-1, keepdims=True)).astype(x.dtype)
      cases.append((f"{named(i)} hard 0/1 probabilities", replaced(i, hard)))
    if kind == "real" and i == diff_argnums[0]:
      for j, y in enumerate(args):
        if j not in diff_argnums and _is_float(y) and y.shape == x.shape:
          cases.append(
            (f"{named(i)} equal to {named(j)}", replaced(i, np.array(y)))
          )
          break
  for m in masks:
    none = np.zeros_like(args[m])
    cases.append((f"{named(m)} all False (all masked)", replaced(m, none)))
  return cases


def check_loss(
  fn: Any,
  *example_args: Any,
  diff_argnums: Sequence[int] | None = None,
  labels: Sequence[int] = (),
  masks: Sequence[int] = (),
  kinds: Mapping[int, str] | None = None,
  edges: Sequence[Sequence[Any]] = (),
  implied: bool = True,
  per_sample: bool | None = None,
  order: int = 1,
  grad_eps: float = 1e-4,
  grad_tol: float = 1e-4,
  half_rtol: float = 5e-2,
  half_out: Any = None,
  contracts: Sequence[str] | None = None,
  skip: Sequence[str] = (),
  seed: int = 0,
  strict: bool = False,
) -> Report:
  """Checks the loss contracts on a loss function, loss object or module.

  The loss is called as ``fn(*example_args)``. A loss object
  (``jaxloss.Huber()``, ``jaxloss.wrap(f)``, a ``jaxloss.flax`` linen or
  nnx loss module) is checked on its per-sample values (``loss.values``)
  and its reductions; a linen module with parameters is initialised once
  and checked as ``module.apply(variables, *args)``; anything else
  callable (a plain function, a ``jax.custom_vjp`` function, an nnx
  module) as is. The leading axis of ``example_args`` is the batch.

  Args:
    fn: the loss.
    *example_args: example inputs, a batch of a few samples (2 to 8).
    diff_argnums: the arguments the loss is differentiated in (default:
      every floating argument, except one named ``y_true``, ``labels`` or
      ``targets`` when there are several).
    labels: arguments that hold integer labels (never differentiated).
    masks: arguments that hold boolean masks (an all-False edge is
      checked for each; boolean arguments count as masks by default).
    kinds: ``{argnum: kind}`` of the differentiable arguments, for the
      implied edges: ``"real"`` (the default: zeros; the first one also
      equal to a same-shape target), ``"logits"`` (zero, saturated +-1e4),
      ``"probabilities"`` (zeros, hard 0/1), ``"vectors"`` (zero vectors),
      ``"positive"`` (a scale: 1e-12), ``"none"`` (no implied edge).
    edges: more edge inputs, each a tuple of all the arguments.
    implied: whether to add the edges the kinds imply.
    per_sample: whether values have one entry per sample on the leading
      axis (default: inferred from the values' shape).
    order: 1 checks first derivatives, 2 also second, 0 neither.
    grad_eps: the central-difference step (in float64).
    grad_tol: absolute and relative tolerance of the gradient checks.
    half_rtol: tolerance of half-precision values against float32.
    half_out: the dtype the loss returns for half inputs, when its policy
      is not "half in, half out" (float32 for a fused LM loss).
    contracts: which contracts to run (default: all of ``CONTRACTS``).
    skip: contracts not to run.
    seed: seeds the random directions and the second call's values.
    strict: raise :class:`LossContractError` when a contract fails.

  Returns:
    A :class:`Report`: each contract's status, worst error and the input
    that showed it.

  Raises:
    LossContractError: in ``strict`` mode, when a contract fails.
  """
  start = time.process_time()
  rng = np.random.default_rng(seed)
  wanted = tuple(CONTRACTS if contracts is None else contracts)
  unknown = sorted((set(wanted) | set(skip)) - set(CONTRACTS))
  if unknown:
    raise ValueError(
      f"check_loss: contracts must be among {CONTRACTS}, got {unknown}"
    )
  if not example_args:
    raise ValueError("check_loss: example_args must hold the loss's inputs")
  args32 = _as_inputs(example_args, np.float32)
  name, values_fn, obj, names = _subject(fn, args32, rng)
  floats = [i for i, a in enumerate(args32) if _is_float(a)]
  masks = tuple(masks) or tuple(
    i for i, a in enumerate(args32) if a.dtype == np.bool_
  )
  if diff_argnums is None:
    data = {i for i in floats if i < len(names) and names[i] in _DATA_NAMES}
    diff_argnums = [
      i for i in floats if i not in labels and i not in masks and i not in data
    ] or floats
  diff_argnums = tuple(diff_argnums)
  for i in diff_argnums:
    if i >= len(args32) or not _is_float(args32[i]):
      raise ValueError(
        f"check_loss: diff_argnums must name floating arguments, got {i} "
        f"({_describe(args32[i : i + 1]) or 'no such argument'})"
      )
  programs = Programs(values_fn, diff_argnums)
  results: dict[str, ContractResult] = {}
  unsafe = False

  def run(contract, check):
    if contract in wanted and contract not in skip:
      if unsafe:
        results[contract] = _skip(
          contract, "not run: the loss is not jit-safe (see jit)"
        )
        return
      try:
        results[contract] = check()
      except Exception as e:  # noqa: BLE001 - a contract that cannot run
        results[contract] = _fail(
          contract, f"raised {type(e).__name__}: {_first_line(e)}"
        )

  run("jit", lambda: check_jit(programs, args32))
  unsafe = "not jit-safe" in results.get("jit", _pass("jit")).message
  values = np.asarray((programs.fn if unsafe else programs.jitted)(*args32))
  batch = args32[0].shape[0] if args32[0].ndim else None
  if per_sample is None:
    per_sample = bool(values.ndim and values.shape[0] == batch)

  def vmap():
    if not per_sample:
      return _skip("vmap", "the values are not one per sample (batch-level)")
    if not values.ndim or values.shape[0] != batch:
      return _fail(
        "vmap",
        f"per_sample=True, but a batch of {batch} gave values of shape "
        f"{values.shape} (a per-sample loss reduces only the event axis)",
        where="example inputs",
        inputs=args32,
      )
    return check_vmap(programs, args32)

  run("vmap", vmap)
  run(
    "retrace",
    lambda: check_retrace(
      programs, args32, _other_values(args32, rng, diff_argnums)
    ),
  )

  def gradients():
    if order < 1:
      return [_skip("gradient", "order=0")]
    with jax.enable_x64(True):
      args64 = tuple(jnp.asarray(a) for a in _as_inputs(args32, np.float64))
      diff = tuple(args64[i] for i in diff_argnums)

      def scalar(*d):
        full = list(args64)
        for i, x in zip(diff_argnums, d, strict=True):
          full[i] = x
        return jnp.sum(programs.jitted(*full))

      return check_gradients(
        scalar, diff, eps=grad_eps, order=order, atol=grad_tol, rtol=grad_tol
      )

  if "gradient" in wanted and "gradient" not in skip and unsafe:
    run("gradient", None)
  elif "gradient" in wanted and "gradient" not in skip:
    try:
      for r in gradients():
        results[r.name] = r
    except Exception as e:  # noqa: BLE001
      results["gradient"] = _fail(
        "gradient", f"raised {type(e).__name__}: {_first_line(e)}"
      )
  if "second_order" in wanted and "second_order" not in skip:
    results.setdefault(
      "second_order", _skip("second_order", "ask for it with order=2")
    )

  def edge_cases():
    cases = [
      (f"edge {k}", _as_inputs(e, np.float32)) for k, e in enumerate(edges)
    ]
    if implied:
      cases += implied_edges(
        args32, diff_argnums, dict(kinds or {}), masks, names
      )
    return check_edges(programs, cases)

  run("edges", edge_cases)
  run(
    "nan",
    lambda: check_nan(
      programs, args32, argnums=diff_argnums, per_sample=per_sample
    ),
  )

  def half():
    worst = None
    for dtype in (jnp.float16, jnp.bfloat16):
      r = check_half_precision(
        programs, args32, dtype, rtol=half_rtol, out_dtype=half_out
      )
      if not r.passed:
        return r
      if worst is None or (r.error or 0) > (worst.error or 0):
        worst = r
    return worst

  run("half_precision", half)

  def reductions():
    if obj is None:
      return _skip(
        "reduction",
        "a plain function: sample_weight and where belong to loss objects "
        "(check jaxloss.wrap(fn) for them)",
      )
    if obj.batch_level or not values.ndim:
      return _skip("reduction", "batch-level: one value per batch")
    weight = np.linspace(0.5, 2.0, values.shape[0]).astype(np.float32)
    where = np.arange(values.shape[0]) % 2 == 0
    result = check_reductions([obj], args32, values, weight, where=where)
    if not result.passed:
      return result
    bad = check_all_masked(obj, args32, diff_argnums, values.shape)
    return bad or result

  run("reduction", reductions)
  order_ = {c: i for i, c in enumerate(CONTRACTS)}
  report = Report(
    name,
    dict(sorted(results.items(), key=lambda kv: order_[kv[0]])),
    time.process_time() - start,
  )
  if strict:
    report.raise_for_failures()
  return report


# ------------------------------------------------------------ pytest helper


@dataclasses.dataclass(frozen=True, eq=False)
class Case:
  """A loss with its example inputs and ``check_loss`` options."""

  fn: Any
  args: tuple[Any, ...]
  options: Mapping[str, Any]

  def contracts(self) -> tuple[str, ...]:
    wanted = self.options.get("contracts") or CONTRACTS
    skip = self.options.get("skip", ())
    return tuple(c for c in wanted if c not in skip)

  @functools.cached_property
  def report(self) -> Report:
    return check_loss(self.fn, *self.args, **self.options)


def case(fn: Any, *example_args: Any, **options: Any) -> Case:
  """One loss to check: ``check_loss(fn, *example_args, **options)``."""
  if "strict" in options:
    raise TypeError("case: strict is not an option here (each test asserts)")
  return Case(fn, example_args, options)


def loss_contracts(
  cases: Mapping[str, Case] | None = None, **named: Case
) -> Callable[[str, str], None]:
  """A pytest test function: one test per loss and contract.

  Each case is checked once (on its first test); every contract is its own
  test, named ``<case>-<contract>``, skipped when the contract does not
  apply. In a test file::

      from jaxloss.testing import case, loss_contracts

      test_my_losses = loss_contracts(l2=case(l2_loss, y_true, y_pred))

  Args:
    cases: ``{name: case(...)}``.
    **named: more cases by name.
  """
  import pytest  # noqa: PLC0415 - only the pytest helper needs pytest

  everything = dict(cases or {}, **named)
  for key, c in everything.items():
    if not isinstance(c, Case):
      raise TypeError(
        f"loss_contracts: {key} must be a jaxloss.testing.case(...), got "
        f"{type(c).__name__}"
      )
  params = [(k, c) for k, v in everything.items() for c in v.contracts()]

  @pytest.mark.parametrize(
    ("loss_name", "contract"), params, ids=[f"{k}-{c}" for k, c in params]
  )
  def test_loss_contract(loss_name: str, contract: str) -> None:
    result = everything[loss_name].report[contract]
    if result.status == "skip":
      pytest.skip(result.message)
    assert result.passed, f"{loss_name}: {result}"

  return test_loss_contract
