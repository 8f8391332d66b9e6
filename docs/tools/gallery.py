"""Draws the loss gallery (docs/gallery/) from the library itself.

For each family, the loss and its gradient against the prediction, for a
typical target and a few hyper-parameter values. The pictures are made by
calling jaxloss, so they cannot drift from the code.

Run: ``python -m docs.tools.gallery`` (``make docs`` does).
"""

from __future__ import annotations

from collections.abc import Callable
import dataclasses
import pathlib

import jax
import jax.numpy as jnp
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

import jaxloss  # noqa: E402

OUT = pathlib.Path(__file__).resolve().parents[1] / "gallery"


@dataclasses.dataclass(frozen=True)
class Panel:
  """One figure: ``loss(prediction)`` for each labelled variant."""

  slug: str
  title: str
  xlabel: str
  x: jax.Array
  variants: dict[str, Callable[[jax.Array], jax.Array]]
  note: str


def _regression(fn, target=0.0, **kwargs):
  """A scalar regression loss of one prediction against ``target``."""
  return lambda p: fn(jnp.full((1, 1), target), p.reshape(1, 1), **kwargs)[0]


def _binary(fn, label=1.0, **kwargs):
  """A binary loss of one logit for a positive label."""
  return lambda z: fn(jnp.full((1, 1), label), z.reshape(1, 1), **kwargs)[0]


def panels() -> list[Panel]:
  e = jnp.linspace(-3.0, 3.0, 241)
  z = jnp.linspace(-6.0, 6.0, 241)
  return [
    Panel(
      "regression",
      "Regression losses (target 0)",
      "prediction",
      e,
      {
        "MSE": _regression(jaxloss.mean_squared_error),
        "MAE": _regression(jaxloss.mean_absolute_error),
        "log-cosh": _regression(jaxloss.log_cosh),
        "smooth L1 (beta=1)": _regression(jaxloss.smooth_l1),
      },
      "Squared error grows quadratically; MAE's gradient is a step; "
      "log-cosh and smooth L1 are quadratic near 0 and linear far away.",
    ),
    Panel(
      "huber",
      "Huber for several deltas (target 0)",
      "prediction",
      e,
      {
        f"delta={d}": _regression(jaxloss.huber, delta=d)
        for d in (0.5, 1.0, 2.0)
      },
      "Quadratic inside |e| <= delta, linear outside: the gradient is "
      "clipped at +-delta.",
    ),
    Panel(
      "robust",
      "Barron's general robust loss across alpha",
      "residual",
      e,
      {
        f"alpha={a}": _regression(jaxloss.robust_loss, alpha=a)
        for a in (2.0, 1.0, 0.0, -2.0)
      },
      "alpha=2 is L2, 1 pseudo-Huber, 0 Cauchy, -2 Geman-McClure: "
      "lower alpha bounds the influence of outliers.",
    ),
    Panel(
      "binary",
      "Binary losses from logits (label 1)",
      "logit",
      z,
      {
        "cross-entropy": _binary(jaxloss.binary_crossentropy, from_logits=True),
        "hinge (label +1)": _binary(jaxloss.hinge),
        "squared hinge": _binary(jaxloss.squared_hinge),
        "soft margin": _binary(jaxloss.soft_margin),
      },
      "Cross-entropy and soft margin are smooth; hinge is zero past the "
      "margin.",
    ),
    Panel(
      "focal",
      "Binary focal cross-entropy for several gammas (label 1)",
      "logit",
      z,
      {
        f"gamma={g}": _binary(
          jaxloss.binary_focal_crossentropy, from_logits=True, gamma=g
        )
        for g in (0.0, 0.5, 2.0, 5.0)
      },
      "Larger gamma down-weights well-classified examples; computed "
      "in log space, so the gradient stays finite for gamma < 1.",
    ),
    Panel(
      "quantile",
      "Pinball (quantile) loss (target 0)",
      "prediction",
      e,
      {
        f"tau={t}": _regression(jaxloss.pinball, tau=t) for t in (0.1, 0.5, 0.9)
      },
      "Asymmetric slopes tau and 1 - tau: the minimiser is the tau quantile.",
    ),
  ]


def draw(panel: Panel) -> pathlib.Path:
  fig, (ax_v, ax_g) = plt.subplots(1, 2, figsize=(9, 3.4))
  for label, fn in panel.variants.items():
    values = jax.vmap(fn)(panel.x)
    grads = jax.vmap(jax.grad(fn))(panel.x)
    ax_v.plot(panel.x, values, label=label)
    ax_g.plot(panel.x, grads, label=label)
  ax_v.set(title="loss", xlabel=panel.xlabel)
  ax_g.set(title="gradient", xlabel=panel.xlabel)
  for ax in (ax_v, ax_g):
    ax.grid(alpha=0.3)
  ax_v.legend(fontsize=8)
  fig.suptitle(panel.title)
  fig.tight_layout()
  path = OUT / f"{panel.slug}.png"
  fig.savefig(path, dpi=90)
  plt.close(fig)
  return path


def main() -> list[pathlib.Path]:
  OUT.mkdir(parents=True, exist_ok=True)
  lines = [
    "# Loss gallery",
    "",
    "Each figure is drawn by `docs/tools/gallery.py` from the library "
    "itself: the loss (left) and its gradient (right) against the "
    "prediction.",
    "",
  ]
  paths = []
  for panel in panels():
    paths.append(draw(panel))
    lines += [
      f"## {panel.title}",
      "",
      f"![{panel.title}]({panel.slug}.png)",
      "",
      panel.note,
      "",
    ]
  (OUT / "index.md").write_text("\n".join(lines))
  return paths


if __name__ == "__main__":
  print(f"drew {len(main())} figures")
