"""Hinge losses of Keras 3: hinge, squared hinge, categorical hinge."""

from __future__ import annotations

import jax.numpy as jnp

from jaxloss._src import shapes
from jaxloss._src.losses.score_margin import binary_hinge
from jaxloss._src.objects import loss_class
from jaxloss._src.objects import scoped


def _hinge_terms(fn, y_true, y_pred):
  """Element-wise ``max(1 - y * f, 0)``; {0, 1} labels are mapped to {-1, 1}.

  As in Keras, the mapping ``y -> 2y - 1`` applies when *every* label of the
  call is 0 or 1 (a value-dependent choice, fine under ``jit``). Under
  ``vmap`` "every label" means every label of the mapped slice.
  """
  t, p, dt = shapes.elementwise_inputs(fn, y_true, y_pred, min_rank=1)
  # The test is a float max (a boolean ``all`` lowers to a slow chain of
  # reduce-windows on XLA:CPU), and the mapping is an affine map with scalar
  # coefficients rather than a ``where`` over the array: the forward pass
  # then reads each input once more instead of writing a relabelled copy.
  is_binary = jnp.max(
      jnp.minimum(jnp.abs(t), jnp.abs(t - 1.0)), initial=0.0) == 0
  scale = jnp.where(is_binary, 2.0, 1.0).astype(t.dtype)
  shift = jnp.where(is_binary, -1.0, 0.0).astype(t.dtype)
  return binary_hinge(scale * t + shift, p), dt


@scoped
def hinge(y_true, y_pred):
  """Hinge loss, averaged over the last axis.

  ``loss = mean(max(1 - y_true * y_pred, 0), axis=-1)``, labels in {-1, 1}
  (binary {0, 1} labels are converted).

  Example:
    >>> import jaxloss
    >>> jaxloss.hinge([[0.0, 1.0]], [[0.5, 0.2]])
    Array([1.15], dtype=float32)
  """
  terms, dt = _hinge_terms("hinge", y_true, y_pred)
  return jnp.mean(terms, axis=-1).astype(dt)


@scoped
def squared_hinge(y_true, y_pred):
  """Squared hinge loss, averaged over the last axis.

  ``loss = mean(max(1 - y_true * y_pred, 0) ** 2, axis=-1)``

  Example:
    >>> import jaxloss
    >>> jaxloss.squared_hinge([[0.0, 1.0]], [[0.5, 0.2]])
    Array([1.445], dtype=float32)
  """
  terms, dt = _hinge_terms("squared_hinge", y_true, y_pred)
  return jnp.mean(jnp.square(terms), axis=-1).astype(dt)


@scoped
def categorical_hinge(y_true, y_pred):
  """Categorical (Crammer-Singer) hinge loss with one-hot targets.

  ``loss = max(max((1 - y_true) * y_pred) - sum(y_true * y_pred) + 1, 0)``
  over the last axis.

  Example:
    >>> import jaxloss
    >>> jaxloss.categorical_hinge([[0.0, 1.0]], [[0.5, 0.2]])
    Array([1.3], dtype=float32)
  """
  t, p, dt = shapes.elementwise_inputs(
      "categorical_hinge", y_true, y_pred, min_rank=1)
  pos = jnp.sum(t * p, axis=-1)
  neg = jnp.max((1.0 - t) * p, axis=-1)
  return jnp.maximum(neg - pos + 1.0, 0.0).astype(dt)


Hinge = loss_class(hinge, "Hinge")
SquaredHinge = loss_class(squared_hinge, "SquaredHinge")
CategoricalHinge = loss_class(categorical_hinge, "CategoricalHinge")
