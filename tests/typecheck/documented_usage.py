"""The README's and docs' documented usages, type-checked by pyright.

`make typecheck` runs pyright over ``jaxloss/`` and this file; both must
have zero errors. The suite also runs ``main()`` (tests/test_loss_classes.py),
so every usage here works as written.
"""

from __future__ import annotations

import importlib.util

import jax
import jax.numpy as jnp
import numpy as np

import jaxloss
import jaxloss.optax


def main() -> None:
  labels = jnp.array([0, 2, -1])
  logits = jnp.array([[2.0, 0.5, -1.0], [0.1, 0.2, 3.0], [0.0, 0.0, 0.0]])
  one_hot = jax.nn.one_hot(jnp.array([0, 2, 1]), 3)
  w = jnp.array([1.0, 0.5, 2.0])

  # README quick start: functional form, then an explicit reduction.
  safe = jnp.where(labels == -1, 0, labels)
  values: jax.Array = jaxloss.sparse_categorical_crossentropy(
    safe, logits, from_logits=True
  )
  loss: jax.Array = jaxloss.reduce(values, where=labels != -1)

  # Object form, Keras names and arguments.
  cce = jaxloss.CategoricalCrossentropy(from_logits=True, label_smoothing=0.1)
  loss = cce(one_hot, logits, sample_weight=w)
  huber = jaxloss.Huber(delta=1.0)
  loss = huber([[0.0, 1.0]], [[0.5, 3.0]])
  # Nested Python lists are inputs (jaxloss.InputLike) for functions too.
  values = jaxloss.huber([[0.0, 1.0]], [[0.5, 3.0]], delta=1.0)
  loss = jaxloss.reduce(values, sample_weight=[2.0])
  sparse = jaxloss.SparseCategoricalCrossentropy(
    from_logits=True, ignore_index=-1
  )
  loss = sparse(labels, logits)

  # By name, as Keras.
  mse = jaxloss.get("mse")
  loss = mse(np.zeros((2, 3)), np.ones((2, 3)))

  # Array hyper-parameters: a loss object is a pytree.
  learnable = jaxloss.Huber(delta=jnp.asarray(0.5))
  grads = jax.grad(lambda lo: lo([[0.0, 1.0]], [[0.5, 3.0]]))(learnable)
  loss = jax.jit(lambda lo, a, b: lo(a, b))(jaxloss.Huber(), one_hot, logits)
  focal = jaxloss.CategoricalFocalCrossentropy(
    alpha=jnp.array([0.25, 0.25, 0.5]), gamma=2.0
  )
  loss = focal(one_hot, jax.nn.softmax(logits))

  # Multi-input losses name their inputs.
  triplet = jaxloss.TripletMarginLoss(margin=0.5, swap=True)
  loss = triplet(logits, logits + 1.0, logits - 1.0)

  # The optax forms, through the lazy submodule as well.
  loss = jaxloss.optax.softmax_cross_entropy_with_integer_labels(
    logits, safe
  ).mean()

  # A custom per-sample function as a loss object.
  def cubic(y_true: jax.Array, y_pred: jax.Array) -> jax.Array:
    return jnp.mean(jnp.abs(y_true - y_pred) ** 3, axis=-1)

  wrapped = jaxloss.wrap(cubic, reduction="sum")
  loss = wrapped(one_hot, logits)
  del loss, grads
  family_usages()
  if importlib.util.find_spec("flax") is not None:
    flax_usages()
  if importlib.util.find_spec("keras") is not None:
    keras_usages()


def family_usages() -> None:
  """Usages from the family pages: survival, margin softmax, boxes, RNN-T,
  combine, serialisation."""
  times = jnp.array([1.0, 2.0, 3.0])
  events = jnp.array([1, 0, 1])
  risk = jnp.array([0.2, -0.4, 0.1])
  loss: jax.Array = jaxloss.cox_ph(times, events, risk, ties="efron")
  cox = jaxloss.CoxPH(ties="efron")
  loss = cox(times, events, risk, strata=jnp.array([0, 1, 0]))

  labels = jnp.array([0, 1])
  emb = jnp.array([[1.0, 0.0], [0.5, 0.5]])
  centers = jnp.array([[1.0, 0.0], [0.0, 1.0]])
  z: jax.Array = jaxloss.arcface_logits(labels, emb, centers, margin=0.3)
  loss = jaxloss.arcface(labels, emb, centers, scale=jnp.asarray(8.0))
  z = jaxloss.class_cosines(emb, centers)

  boxes = jnp.array([[0.0, 0.0, 1.0, 1.0]])
  loss = jaxloss.giou_loss(boxes, boxes + 0.1)

  rnnt_logits = jnp.zeros((1, 2, 2, 3))
  loss = jaxloss.rnnt_loss(rnnt_logits, jnp.array([[1]]), blank=0)

  total, terms = jaxloss.combine(
    {"a": "mse", "b": jaxloss.Huber()},
    {"a": emb, "b": emb},
    {"a": emb + 1.0, "b": emb},
    loss_weights={"a": 0.5, "b": 2.0},
  )
  loss = total + terms["a"]
  weights = jaxloss.class_weights_to_sample_weights(labels, {0: 1.0, 1: 2.0})
  loss = jaxloss.reduce(jnp.array([1.0, 2.0]), sample_weight=weights)
  config = jaxloss.serialize(cox)
  restored = jaxloss.deserialize(config)
  loss = restored(times, events, risk)
  del loss, z


def flax_usages() -> None:
  """The Flax module forms (docs/flax.md); needs the flax extra."""
  from jaxloss.flax import linen as jl  # noqa: PLC0415
  from jaxloss.flax import nnx as jn  # noqa: PLC0415

  y = jnp.zeros((2, 3))
  # linen's `apply` is typed by Flax (value, or (value, state) with
  # `mutable`); the loss object's fields are checked from its class.
  huber = jaxloss.Huber(delta=2.0, reduction="sum")
  value = jl.LossModule(huber).apply({}, y, y + 1.0)
  loss: jax.Array = jn.LossModule(jaxloss.Huber(delta=2.0))(y, y + 1.0)
  head = jn.LossModule(jaxloss.CoxPH(ties="efron"))
  loss = head(jnp.array([1.0, 2.0]), jnp.array([1, 1]), jnp.zeros(2))
  del loss, value


def keras_usages() -> None:
  """The Keras forms (docs/keras.md); needs the keras extra."""
  import jaxloss.keras  # noqa: PLC0415

  huber = jaxloss.keras.Huber(delta=0.5, reduction="sum")
  loss: jax.Array = huber(
    [[0.0], [1.0]], [[2.0], [1.0]], sample_weight=[1.0, 0.0]
  )
  # Keras's keyword names: `ignore_class` is jaxloss's `ignore_index`.
  sparse = jaxloss.keras.SparseCategoricalCrossentropy(
    from_logits=True, ignore_class=-1, name="sparse_ce"
  )
  loss = sparse(jnp.array([0, 2, -1]), jnp.zeros((3, 3)))
  focal = jaxloss.keras.BinaryFocalCrossentropy(
    gamma=jnp.asarray(1.5), from_logits=True, dtype="float32"
  )
  loss = focal(jnp.array([[1.0], [0.0]]), jnp.array([[0.3], [-0.2]]))
  gamma: float | jax.Array = focal.core.gamma
  del loss, gamma


if __name__ == "__main__":
  main()
