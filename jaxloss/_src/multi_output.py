"""Losses over a pytree of outputs with per-output weights (Keras ``compile``).

``combine`` is what Keras's ``compile(loss={...}, loss_weights={...})`` does in
a training step: one loss per output, each reduced with its own reduction and
its own sample weights, then a weighted sum; the unweighted per-output values
come back too, for logging (Keras logs them as ``<output>_loss``).
"""

from __future__ import annotations

from collections.abc import Mapping
from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp

from jaxloss._src import objects
from jaxloss._src.tree_paths import path_name

_FN = "combine"


def _is_loss_leaf(x) -> bool:
  return x is None or isinstance(x, (str, objects.Loss)) or callable(x)


def _as_loss(spec, where):
  """A name / per-sample function / loss object -> a reducing loss object."""
  if isinstance(spec, str):
    try:
      spec = objects.get(spec)
    except ValueError as e:
      raise ValueError(
        f"{_FN}: losses[{where!r}] must be a known loss name, got {spec!r}"
      ) from e
  if isinstance(spec, objects.Loss):
    return spec
  if callable(spec):
    # Keras wraps a bare function the same way (LossFunctionWrapper).
    return objects.wrap(spec)
  raise TypeError(
    f"{_FN}: losses[{where!r}] must be a loss object, a name or a "
    f"callable, got {type(spec).__name__}"
  )


def _lookup(tree, path, arg, *, broadcast, default=None, strict=False) -> Any:
  """The entry of ``tree`` at ``path``; a non-container ``tree`` broadcasts."""
  node = tree
  for key in path:
    if broadcast(node):
      return node
    k = getattr(key, "key", getattr(key, "idx", getattr(key, "name", None)))
    if isinstance(node, Mapping):
      if k not in node:
        if strict:
          raise ValueError(
            f"{_FN}: {arg} has no entry for output {path_name(path)!r}, "
            f"got keys {sorted(map(str, node))}"
          )
        return default
      node = node[k]
    elif isinstance(node, Sequence) and isinstance(k, int):
      if k >= len(node):
        raise ValueError(
          f"{_FN}: {arg} must have one entry per output, got "
          f"{len(node)} entries for output index {k}"
        )
      node = node[k]
    else:
      node = getattr(node, str(k))
  return node


def _check_known_keys(tree, outputs, arg, broadcast, path=()):
  """Every key of a mapping in ``tree`` must name an output."""
  if broadcast(tree) or not isinstance(tree, Mapping):
    return
  if not isinstance(outputs, Mapping):
    raise ValueError(
      f"{_FN}: {arg} is a dict at {'/'.join(path) or 'the top'} but "
      f"y_pred is a {type(outputs).__name__} there"
    )
  extra = set(tree) - set(outputs)
  if extra:
    raise ValueError(
      f"{_FN}: {arg} keys must name outputs of y_pred, got unknown keys "
      f"{sorted(map(str, extra))} (outputs: {sorted(map(str, outputs))})"
    )
  for k, v in tree.items():
    _check_known_keys(v, outputs[k], arg, broadcast, path + (str(k),))


def combine(
  losses: Any,
  y_true: Any,
  y_pred: Any,
  *,
  loss_weights: Any = None,
  sample_weight: Any = None,
) -> tuple[jax.Array, dict[str, jax.Array]]:
  """Weighted sum of per-output losses over a pytree of outputs.

  For every array leaf ``k`` of ``y_pred`` (path ``p``) that has a loss:

  ``term[p] = loss_p(y_true[p], y_pred[p], sample_weight=sw_p)`` (reduced
  by the loss's own reduction) and
  ``total = sum_p loss_weights[p] * term[p]``.

  ``losses``, ``loss_weights`` and ``sample_weight`` are each either one
  value applied to every output, or a pytree (dict / list / tuple) that
  mirrors the outputs; a dict may leave outputs out: a missing or ``None``
  loss skips that output (its target may then be ``None``), a missing loss
  weight is 1, a missing sample weight is none. A bare per-sample function
  or a name resolves through :func:`jaxloss.get` and reduces with
  ``"sum_over_batch_size"``, as Keras does.

  The arguments are pytrees (hence typed ``Any``), as in Keras's
  ``compile``.

  Args:
    losses: a loss object, a per-sample function, a loss name, or a pytree
      of those (``None`` entries allowed) mirroring ``y_pred``.
    y_true: targets, a pytree with the structure of ``y_pred`` (at least
      for the outputs that have a loss).
    y_pred: predictions, a pytree of arrays (a single array is one output).
      Its leaves must be arrays: a Python list or tuple here is read as a
      sequence of outputs, as in Keras.
    loss_weights: ``None`` (all 1), a number for all outputs, or a pytree of
      numbers mirroring ``y_pred``.
    sample_weight: ``None``, one array ``[B]`` for all outputs, or a pytree
      of per-output sample weights mirroring ``y_pred``.

  Returns:
    ``(total, terms)``: the weighted total (a scalar) and a dict from each
    output's ``/``-joined path (``"loss"`` for a single array output) to
    its *unweighted* loss value, as Keras logs them.

  Raises:
    ValueError: when a dict of losses, weights or sample weights names an
      output that ``y_pred`` does not have, or no output has a loss.
    TypeError: for a loss that is neither an object, a name nor callable.

  Examples:
    >>> import jax.numpy as jnp
    >>> import jaxloss
    >>> y_true = {"a": jnp.array([[1.0]]), "b": jnp.array([[0.0, 2.0]])}
    >>> y_pred = {"a": jnp.array([[3.0]]), "b": jnp.array([[0.0, 0.0]])}
    >>> total, terms = jaxloss.combine(
    ...     {"a": "mse", "b": "mae"}, y_true, y_pred,
    ...     loss_weights={"a": 0.5, "b": 2.0})
    >>> print(total, terms["a"], terms["b"])
    4.0 4.0 1.0
  """
  is_output = lambda x: x is None or not isinstance(x, (Mapping, list, tuple))
  outputs = jax.tree_util.tree_flatten_with_path(y_pred, is_leaf=is_output)[0]
  weight_leaf = lambda x: (
    x is None or isinstance(x, (int, float)) or hasattr(x, "shape")
  )
  sw_leaf = lambda x: x is None or not isinstance(x, (Mapping, list, tuple))
  for tree, arg, leaf in (
    (losses, "losses", _is_loss_leaf),
    (loss_weights, "loss_weights", weight_leaf),
    (sample_weight, "sample_weight", sw_leaf),
  ):
    _check_known_keys(tree, y_pred, arg, leaf)
  total = None
  terms = {}
  for path, pred in outputs:
    if pred is None:
      continue
    name = path_name(path) or "loss"
    spec = _lookup(losses, path, "losses", broadcast=_is_loss_leaf)
    if spec is None:
      continue
    loss = _as_loss(spec, name)
    target = _lookup(
      y_true, path, "y_true", broadcast=lambda x: False, strict=True
    )
    sw = _lookup(sample_weight, path, "sample_weight", broadcast=sw_leaf)
    weight = _lookup(loss_weights, path, "loss_weights", broadcast=weight_leaf)
    value = loss(target, pred, sample_weight=sw)
    terms[name] = value
    weighted = (
      value if weight is None else value * jnp.asarray(weight, value.dtype)
    )
    total = weighted if total is None else total + weighted
  if total is None:
    raise ValueError(
      f"{_FN}: losses must give at least one output a loss, got {losses!r}"
    )
  return total, terms
