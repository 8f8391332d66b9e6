"""Draws the loss gallery (docs/gallery/) from the library itself.

For each family, the loss and its gradient against the prediction (or the
logit, margin, score difference, box offset, angle, ...), for a typical
target and a few hyper-parameter values. Every curve calls the public
jaxloss function and its gradient is ``jax.grad`` of the same call, so the
pictures cannot drift from the code.

Run: ``python -m docs.tools.gallery`` (``make docs`` does). It writes one
PNG per panel and ``docs/gallery/index.md``, which groups the panels by
family; the hand-written gallery pages link some of the PNGs.
"""

from __future__ import annotations

from collections.abc import Callable
import dataclasses
import math
import pathlib
import time

import jax
import jax.numpy as jnp
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

import jaxloss  # noqa: E402
from jaxloss import optax as optax_losses  # noqa: E402

OUT = pathlib.Path(__file__).resolve().parents[1] / "gallery"
N = 201  # points per curve (odd, so that 0 is one of them)

Fn = Callable[[jax.Array], jax.Array]


@dataclasses.dataclass(frozen=True)
class Panel:
  """One figure: ``loss(x)`` and ``d loss / dx`` for each labelled variant.

  Each variant maps a scalar ``x`` to a scalar loss by calling a public
  jaxloss function; ``ylim``/``grad_ylim`` clip the axes where one variant
  would flatten the others.
  """

  family: str
  slug: str
  title: str
  xlabel: str
  x: jax.Array
  variants: dict[str, Fn]
  note: str
  ylim: tuple[float, float] | None = None
  grad_ylim: tuple[float, float] | None = None


# The families in the order of the index, each with a one-line note.
FAMILIES = {
  "regression": (
    "Regression and robust regression",
    "Element-wise errors averaged over the last axis; Barron's loss "
    "spans L2 to Geman-McClure with one parameter.",
  ),
  "adaptive": (
    "Adaptive robust loss",
    "Barron's loss as a negative log-likelihood, so that its shape and "
    "scale can be learnt.",
  ),
  "crossentropy": (
    "Cross-entropy",
    "Binary and softmax cross-entropies from logits, with focal and "
    "polynomial re-weightings.",
  ),
  "hinge": (
    "Hinge and margin losses",
    "Keras's hinges and PyTorch's margin losses: zero past the margin, "
    "a constant slope before it.",
  ),
  "sparsemax": (
    "Sparsemax",
    "Sparsemax's loss reaches exactly zero once the true class wins by a "
    "margin of 1; softmax cross-entropy never does.",
  ),
  "overlap": (
    "Overlap (segmentation)",
    "Soft Dice, Tversky and Jaccard of a small mask, and the Lovász hinge "
    "on logits.",
  ),
  "embedding": (
    "Embeddings and metric learning",
    "Pair and triplet losses as functions of an embedding distance, and "
    "pytorch-metric-learning's pair losses against a positive's angle.",
  ),
  "likelihood": (
    "Likelihoods",
    "Negative log-likelihoods of PyTorch's GaussianNLLLoss and PoissonNLLLoss.",
  ),
  "boxes": (
    "Bounding boxes",
    "The IoU family for a box slid horizontally past its target.",
  ),
  "ranking": (
    "Ranking",
    "Pairwise and listwise ranking losses of a two-item list.",
  ),
  "sequence": (
    "Sequence: CTC and RNN-T",
    "Alignment-free sequence losses, summed over all alignments.",
  ),
  "margin_softmax": (
    "Margin softmax (face recognition)",
    "ArcFace and CosFace add a margin to the angle or the cosine of the "
    "true class.",
  ),
  "contrastive": (
    "Contrastive (CLIP, SigLIP, CLIP distillation)",
    "Image-text losses of one row of a batch, against the similarity of "
    "its matching pair.",
  ),
  "image_quality": (
    "Image quality",
    "Charbonnier, PSNR and SSIM losses for image reconstruction.",
  ),
  "imbalance": (
    "Class imbalance",
    "Losses that favour rare classes or down-weight easy negatives "
    "(see also [the imbalance page](../gallery_imbalance_noisy.md)).",
  ),
  "noisy_labels": (
    "Noisy labels",
    "Bounded or tempered cross-entropies that limit the pull of a wrong "
    "label (see also [the noisy-labels page]"
    "(../gallery_imbalance_noisy.md#noisy-labels)).",
  ),
  "distributional": (
    "Distributional forecasts",
    "Proper scoring rules and evidential likelihoods (see also [the "
    "distributional page](../gallery_distributional_survival.md)).",
  ),
  "survival": (
    "Survival",
    "Cox partial likelihood and discrete-time hazards (see also [the "
    "survival section](../gallery_distributional_survival.md"
    "#survival-cox-partial-likelihood-and-discrete-time-hazards)).",
  ),
  "preference": (
    "LM preference optimisation",
    "Preference losses as functions of the implicit reward margin.",
  ),
  "policy": (
    "LM policy gradient",
    "`policy_gradient`'s objectives for one token (token normalisation, "
    "`clip_epsilon=0.2`, `clip_epsilon_high=0.28`) against the log-ratio "
    "`log pi - log pi_old`; the gradient is with respect to `log pi` "
    "(formulas and references: [LM losses](../lm.md#policy-gradient)).",
  ),
}


# Adapters: a scalar x into the public function's documented shapes, the
# per-sample value back out as a scalar.


def _regression(fn, target=0.0, **kwargs) -> Fn:
  """A regression loss of one prediction ``[1, 1]`` against ``target``."""
  return lambda p: fn(jnp.full((1, 1), target), p.reshape(1, 1), **kwargs)[0]


def _binary(fn, label=1.0, **kwargs) -> Fn:
  """A binary loss of one logit ``[1, 1]`` for ``label``."""
  return lambda z: fn(jnp.full((1, 1), label), z.reshape(1, 1), **kwargs)[0]


def _logits(z, rivals):
  """Logits ``[1, C]``: ``z`` for class 0, then the rivals' fixed logits."""
  return jnp.concatenate([z[None], jnp.asarray(rivals, z.dtype)])[None]


def _sparse(fn, rivals=(0.0, 0.0), **kwargs) -> Fn:
  """A loss with integer label 0 of logits ``[z, *rivals]``."""
  return lambda z: fn(jnp.array([0]), _logits(z, rivals), **kwargs)[0]


def _onehot(fn, rivals=(0.0, 0.0), **kwargs) -> Fn:
  """A loss with a one-hot label on class 0 of logits ``[z, *rivals]``."""
  onehot = jnp.eye(1 + len(rivals))[:1]
  return lambda z: fn(onehot, _logits(z, rivals), **kwargs)[0]


def _grid(lo, hi):
  return jnp.linspace(lo, hi, N)


def regression_panels() -> list[Panel]:
  e = _grid(-3.0, 3.0)
  return [
    Panel(
      "regression",
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
      ylim=(-0.2, 5.0),
    ),
    Panel(
      "regression",
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
      "regression",
      "quantile",
      "Pinball (quantile) loss (target 0)",
      "prediction",
      e,
      {
        f"tau={t}": _regression(jaxloss.pinball, tau=t) for t in (0.1, 0.5, 0.9)
      },
      "Asymmetric slopes tau and 1 - tau: the minimiser is the tau quantile.",
    ),
    Panel(
      "regression",
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
  ]


def adaptive_panels() -> list[Panel]:
  return [
    Panel(
      "adaptive",
      "adaptive",
      "Adaptive robust NLL (target 0)",
      "residual",
      _grid(-4.0, 4.0),
      {
        f"alpha={a}, scale={c}": _regression(
          jaxloss.adaptive_robust_nll, alpha=a, scale=c
        )
        for a, c in ((2.0, 1.0), (1.0, 1.0), (0.5, 1.0), (1.0, 0.5))
      },
      "The robust loss plus log Z(alpha) + log(scale): heavier tails "
      "(smaller alpha) cost more near 0, so alpha cannot simply be driven "
      "down, and the gradient is that of the bare loss.",
    ),
  ]


def crossentropy_panels() -> list[Panel]:
  z = _grid(-6.0, 6.0)
  return [
    Panel(
      "crossentropy",
      "binary",
      "Binary cross-entropy from logits",
      "logit",
      z,
      {
        "label 1": _binary(jaxloss.binary_crossentropy, from_logits=True),
        "label 0": _binary(
          jaxloss.binary_crossentropy, label=0.0, from_logits=True
        ),
        "label 1, smoothing 0.2": _binary(
          jaxloss.binary_crossentropy, from_logits=True, label_smoothing=0.2
        ),
        "sigmoid focal, label 1 (alpha=0.25, gamma=2)": _binary(
          jaxloss.sigmoid_focal_crossentropy, from_logits=True
        ),
      },
      "Linear for confidently wrong logits, vanishing for confident right "
      "ones; label smoothing puts the minimum at a finite logit.",
    ),
    Panel(
      "crossentropy",
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
      "crossentropy",
      "softmax",
      "Softmax cross-entropy variants (3 classes, rivals' logits 0)",
      "logit of the true class",
      z,
      {
        "cross-entropy": _sparse(
          jaxloss.sparse_categorical_crossentropy, from_logits=True
        ),
        "label smoothing 0.1": _sparse(
          jaxloss.sparse_categorical_crossentropy,
          from_logits=True,
          label_smoothing=0.1,
        ),
        "categorical focal (gamma=2)": _onehot(
          jaxloss.categorical_focal_crossentropy, from_logits=True
        ),
        "poly-1 (epsilon=2)": lambda v: optax_losses.poly_loss_cross_entropy(
          _logits(v, (0.0, 0.0)), jnp.eye(3)[:1]
        )[0],
      },
      "Poly-1 adds epsilon (1 - p_y) to the cross-entropy: a steeper "
      "gradient where the true class is already likely.",
    ),
  ]


def hinge_panels() -> list[Panel]:
  z = _grid(-3.0, 3.0)
  return [
    Panel(
      "hinge",
      "hinge",
      "Binary margin losses (label +1)",
      "score y * f",
      z,
      {
        "hinge": _binary(jaxloss.hinge),
        "squared hinge": _binary(jaxloss.squared_hinge),
        "soft margin (logistic)": _binary(jaxloss.soft_margin),
        "sparsemax (smooth hinge)": lambda v: optax_losses.sparsemax_loss(
          v, jnp.array(1)
        ),
      },
      "The hinge has a kink at the margin 1; the squared hinge and "
      "binary sparsemax loss are smooth there and still exactly 0 past "
      "it; the soft margin never reaches 0.",
      ylim=(-0.2, 6.0),
    ),
    Panel(
      "hinge",
      "torch_margins",
      "PyTorch margin losses",
      "score of the right class (or item) minus the rivals'",
      z,
      {
        "MultiMargin p=1 (3 classes)": _sparse(jaxloss.multi_margin),
        "MultiMargin p=2 (3 classes)": _sparse(jaxloss.multi_margin, p=2),
        "MarginRanking margin=0": lambda v: jaxloss.margin_ranking(
          jnp.ones(1), v[None], jnp.zeros(1)
        )[0],
        "MarginRanking margin=1": lambda v: jaxloss.margin_ranking(
          jnp.ones(1), v[None], jnp.zeros(1), margin=1.0
        )[0],
      },
      "MultiMarginLoss sums the hinge over the rivals and divides by the "
      "number of classes; MarginRankingLoss is the hinge of a score "
      "difference.",
    ),
  ]


def sparsemax_panels() -> list[Panel]:
  ce = jaxloss.sparse_categorical_crossentropy
  sparsemax = optax_losses.multiclass_sparsemax_loss

  def sm(rivals):
    return lambda v: sparsemax(_logits(v, rivals), jnp.array([0]))[0]

  return [
    Panel(
      "sparsemax",
      "sparsemax",
      "Sparsemax loss and softmax cross-entropy (3 classes)",
      "logit of the true class",
      _grid(-4.0, 4.0),
      {
        "softmax CE, rivals (0, 0)": _sparse(ce, from_logits=True),
        "sparsemax, rivals (0, 0)": sm((0.0, 0.0)),
        "softmax CE, rivals (1, -1)": _sparse(
          ce, rivals=(1.0, -1.0), from_logits=True
        ),
        "sparsemax, rivals (1, -1)": sm((1.0, -1.0)),
      },
      "The sparsemax loss is piecewise quadratic with gradient "
      "sparsemax(z) - onehot(y): exactly 0 once the true logit leads "
      "the best rival by 1.",
    ),
  ]


def overlap_panels() -> list[Panel]:
  # A four-pixel mask with two foreground pixels; the other predictions
  # are fixed, x is the predicted probability of the first positive pixel.
  mask = jnp.array([1.0, 1.0, 0.0, 0.0])

  def overlap(fn, **kwargs):
    def f(v):
      probs = jnp.concatenate([v[None], jnp.array([0.9, 0.1, 0.0])])
      return fn(mask, probs, **kwargs)

    return f

  def lovasz(index):
    def f(v):
      logits = jnp.array([2.0, 2.0, -2.0, -2.0]).at[index].set(v)
      return jaxloss.lovasz_hinge(mask[None], logits[None])[0]

    return f

  return [
    Panel(
      "overlap",
      "overlap",
      "Soft overlap losses of a 4-pixel mask (target 1, 1, 0, 0)",
      "predicted probability of a positive pixel (others 0.9, 0.1, 0)",
      _grid(0.0, 1.0),
      {
        "Dice": overlap(jaxloss.dice),
        "Jaccard": overlap(jaxloss.jaccard),
        "Tversky (alpha=0.3, beta=0.7)": overlap(
          jaxloss.tversky, alpha=0.3, beta=0.7
        ),
        "focal Tversky (0.3, 0.7, gamma=0.75)": overlap(
          jaxloss.focal_tversky, alpha=0.3, beta=0.7
        ),
        "-log Dice (log_loss)": overlap(jaxloss.dice, log_loss=True),
        "MCC": overlap(jaxloss.mcc_loss),
      },
      "Jaccard is steeper than Dice; weighting false negatives "
      "(beta > alpha) steepens the pull on a missed positive; gamma < 1 "
      "sharpens the focal Tversky near a perfect overlap; -log Dice pulls "
      "hardest on a poor overlap; MCC also rewards the true negatives.",
    ),
    Panel(
      "overlap",
      "lovasz",
      "Lovász hinge of a 4-pixel mask (target 1, 1, 0, 0)",
      "logit of one pixel (others +-2, right)",
      _grid(-4.0, 4.0),
      {
        "foreground pixel": lovasz(0),
        "background pixel": lovasz(2),
      },
      "The Lovász extension of the Jaccard loss on the hinge errors: "
      "piecewise linear, zero once every pixel is past the margin 1.",
    ),
  ]


def embedding_panels() -> list[Panel]:
  def contrastive(label, margin):
    return lambda d: jaxloss.contrastive_loss(
      jnp.full((1,), label), d[None], margin=margin
    )[0]

  def triplet(margin):
    # Anchor at 0, positive at distance 1, negative at distance x (1-D).
    return lambda d: jaxloss.triplet_margin_loss(
      jnp.zeros((1, 1)), jnp.ones((1, 1)), d.reshape(1, 1), margin=margin
    )[0]

  return [
    Panel(
      "embedding",
      "embedding",
      "Pair and triplet losses against a distance",
      "pair distance (triplet: anchor-negative, anchor-positive 1)",
      _grid(0.02, 3.0),
      {
        "contrastive, similar pair": contrastive(1.0, 1.0),
        "contrastive, dissimilar, margin 1": contrastive(0.0, 1.0),
        "contrastive, dissimilar, margin 2": contrastive(0.0, 2.0),
        "triplet, margin 1": triplet(1.0),
      },
      "Similar pairs are pulled together quadratically; dissimilar pairs "
      "and negatives are pushed only until they pass the margin.",
      ylim=(-0.2, 4.5),
    ),
  ]


def metric_learning_panels() -> list[Panel]:
  # Two classes of two unit embeddings in the plane: the second positive
  # and one negative are fixed at 60 degrees from the anchor (row 0),
  # the first positive turns away from it by x radians.
  labels = jnp.array([0, 0, 1, 1])

  def pair_loss(fn, **kwargs):
    def f(theta):
      emb = jnp.stack(
        [
          jnp.array([1.0, 0.0]),
          jnp.stack([jnp.cos(theta), jnp.sin(theta)]),
          jnp.array([0.5, -0.8660254]),
          jnp.array([-1.0, 0.0]),
        ]
      )
      out = fn(labels, emb, **kwargs)
      return out[0] if out.ndim else out

    return f

  return [
    Panel(
      "embedding",
      "metric_learning",
      "Pair losses of pytorch-metric-learning against a positive's angle",
      "angle between the anchor and one positive (radians)",
      _grid(0.0, math.pi),
      {
        "multi-similarity (anchor 0)": pair_loss(
          jaxloss.multi_similarity, beta=10.0
        ),
        "margin loss (batch)": pair_loss(jaxloss.margin_loss),
        "tuplet margin (batch, scale 4)": pair_loss(
          jaxloss.tuplet_margin, scale=4.0
        ),
        "FastAP (batch)": pair_loss(jaxloss.fast_ap),
      },
      "All pull the positive in as it turns away; the margin loss only "
      "once its distance passes beta - margin; FastAP's histogram makes "
      "it piecewise linear in the squared distance.",
    ),
  ]


def likelihood_panels() -> list[Panel]:
  def poisson(count):
    return lambda v: jaxloss.poisson_nll(
      jnp.full((1, 1), count), v.reshape(1, 1)
    )[0]

  return [
    Panel(
      "likelihood",
      "gaussian_nll",
      "Gaussian NLL for several variances (target 0)",
      "predicted mean",
      _grid(-3.0, 3.0),
      {
        f"var={v}": lambda m, v=v: jaxloss.gaussian_nll(
          jnp.zeros((1, 1)), m.reshape(1, 1), jnp.full((1, 1), v)
        )[0]
        for v in (0.25, 1.0, 4.0)
      },
      "A squared error divided by the variance plus 0.5 log(var): a "
      "confident (small-variance) prediction is cheap when right and "
      "expensive when wrong.",
    ),
    Panel(
      "likelihood",
      "poisson_nll",
      "Poisson NLL for several counts (log-rate input)",
      "predicted log-rate",
      _grid(-3.0, 3.0),
      {f"count {k}": poisson(float(k)) for k in (0, 1, 4)},
      "exp(z) - y z: minimised at z = log y; a count of 0 only pushes "
      "the rate down.",
      ylim=(-4.0, 10.0),
    ),
  ]


def boxes_panels() -> list[Panel]:
  # Target (y_min, x_min, y_max, x_max) = (0, 0, 1, 1); a 0.8 x 1 box slid
  # horizontally, so that the aspect ratios differ (CIoU's extra term).
  target = jnp.array([[0.0, 0.0, 1.0, 1.0]])

  def box(fn):
    return lambda dx: fn(target, jnp.stack([0.1, dx, 0.9, dx + 1.0])[None])[0]

  return [
    Panel(
      "boxes",
      "boxes",
      "IoU-family losses of a 0.8 x 1 box slid past a 1 x 1 target",
      "horizontal offset of the predicted box",
      _grid(-2.5, 2.5),
      {
        "IoU": box(jaxloss.iou_loss),
        "GIoU": box(jaxloss.giou_loss),
        "DIoU": box(jaxloss.diou_loss),
        "CIoU": box(jaxloss.ciou_loss),
      },
      "Without overlap the IoU loss is flat at 1 (zero gradient); GIoU "
      "and DIoU keep pulling the box in; CIoU adds an aspect-ratio term.",
    ),
  ]


def ranking_panels() -> list[Panel]:
  relevance = jnp.array([[1.0, 0.0]])

  def rank(fn, **kwargs):
    return lambda s: fn(relevance, jnp.stack([s, 0.0])[None], **kwargs)[0]

  return [
    Panel(
      "ranking",
      "ranking",
      "Ranking losses of a two-item list (relevance 1, 0)",
      "score difference s_relevant - s_other",
      _grid(-4.0, 4.0),
      {
        "pairwise hinge": rank(jaxloss.pairwise_hinge),
        "pairwise logistic (= ListNet, ListMLE here)": rank(
          jaxloss.pairwise_logistic
        ),
        "ApproxNDCG (temperature 1)": rank(
          jaxloss.approx_ndcg, temperature=1.0
        ),
        "ApproxNDCG (temperature 0.1)": rank(jaxloss.approx_ndcg),
      },
      "For two items ListNet and ListMLE equal the pairwise logistic "
      "loss; ApproxNDCG is minus a smoothed NDCG, so it is bounded.",
    ),
  ]


def sequence_panels() -> list[Panel]:
  # One target label (class 1; class 0 is the blank), with logit x for the
  # label and 0 for the blank in every frame (and every RNN-T lattice node).
  def ctc(frames):
    def f(v):
      logits = jnp.stack([jnp.zeros(()), v])
      logits = jnp.broadcast_to(logits, (1, frames, 2))
      return jaxloss.ctc(jnp.array([[1]]), logits)[0]

    return f

  def rnnt(frames):
    def f(v):
      logits = jnp.stack([jnp.zeros(()), v])
      logits = jnp.broadcast_to(logits, (1, frames, 2, 2))
      return jaxloss.rnnt_loss(logits, jnp.array([[1]]))[0]

    return f

  return [
    Panel(
      "sequence",
      "sequence",
      "CTC and RNN-T of a one-label target (blank logit 0)",
      "logit of the label in every frame",
      _grid(-6.0, 6.0),
      {
        "CTC, 2 frames": ctc(2),
        "CTC, 4 frames": ctc(4),
        "RNN-T, 2 frames": rnnt(2),
        "RNN-T, 4 frames": rnnt(4),
      },
      "CTC may repeat the label in every frame (repeats collapse), so its "
      "loss falls to 0; RNN-T must emit the label once and a blank in "
      "every frame, so it is minimised at a finite logit that falls with "
      "the length.",
    ),
  ]


def margin_softmax_panels() -> list[Panel]:
  # Two classes with orthogonal unit centres (as most pairs are in many
  # dimensions); the embedding turns away from its own class's centre in
  # the plane orthogonal to the rival's, whose cosine stays 0.
  centers = jnp.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])

  def face(fn, **kwargs):
    def f(theta):
      emb = jnp.stack([jnp.cos(theta), 0.0, jnp.sin(theta)])[None]
      return fn(jnp.array([0]), emb, centers, scale=16.0, **kwargs)[0]

    return f

  return [
    Panel(
      "margin_softmax",
      "margin_softmax",
      "ArcFace and CosFace (scale 16, rival's cosine 0)",
      "angle to the true class centre (radians)",
      _grid(0.0, math.pi),
      {
        "no margin": face(jaxloss.cosface, margin=0.0),
        "CosFace m=0.35": face(jaxloss.cosface),
        "ArcFace m=0.2": face(jaxloss.arcface, margin=0.2),
        "ArcFace m=0.5": face(jaxloss.arcface),
      },
      "Both margins keep the loss positive until the embedding is well "
      "inside its class (ArcFace: cos(theta + m), CosFace: cos theta - m); "
      "past theta = pi - m ArcFace switches to cos theta - m sin m, as "
      "the authors' code does, which leaves a kink.",
    ),
  ]


def proxy_panels() -> list[Panel]:
  # Three classes with orthogonal unit proxies; the embedding turns away
  # from its own proxy in the plane orthogonal to the rivals.
  centers = jnp.eye(3, 4)

  def proxy(fn, sub=1, **kwargs):
    def f(theta):
      emb = jnp.stack([jnp.cos(theta), 0.0, 0.0, jnp.sin(theta)])[None]
      c = jnp.repeat(centers, sub, axis=0) if sub > 1 else centers
      return fn(jnp.array([0]), emb, c, **kwargs)[0]

    return f

  return [
    Panel(
      "margin_softmax",
      "proxies",
      "Proxy and large-margin softmax losses (rivals' cosines 0)",
      "angle to the true class proxy (radians)",
      _grid(0.0, math.pi),
      {
        "ProxyNCA (scale 4)": proxy(jaxloss.proxy_nca, softmax_scale=4.0),
        "normalised softmax (T=0.25)": proxy(
          jaxloss.normalized_softmax, temperature=0.25
        ),
        "SphereFace m=2 (scale 4)": proxy(
          jaxloss.sphereface, margin=2, scale=4.0
        ),
        "SoftTriple (K=2, la=4)": proxy(
          jaxloss.soft_triple, sub=2, centers_per_class=2, la=4.0
        ),
        "sub-center ArcFace (K=2, s=4)": proxy(
          jaxloss.subcenter_arcface, sub=2, sub_centers=2, scale=4.0
        ),
      },
      "Cosine-based proxies: the loss grows as the embedding leaves its "
      "proxy; SphereFace's psi(theta) = (-1)^k cos(m theta) - 2k keeps "
      "it monotone past pi / m.",
    ),
  ]


def contrastive_panels() -> list[Panel]:
  # A batch of two pairs; the embeddings are used as given, so row 0's
  # matching similarity is x while every negative similarity is 0.
  images = jnp.eye(3)[:2]

  def row0(fn, *teacher, **kwargs):
    def f(s):
      texts = jnp.stack([s * jnp.eye(3)[0], jnp.eye(3)[1]])
      return fn(images, texts, *teacher, **kwargs)[0]

    return f

  # A teacher whose matching pair sits at similarity 0.5.
  teacher_texts = jnp.stack([0.5 * jnp.eye(3)[0], jnp.eye(3)[1]])

  return [
    Panel(
      "contrastive",
      "contrastive",
      "CLIP and SigLIP, one row of a batch of 2 (negatives' similarity 0)",
      "similarity of the matching image-text pair",
      _grid(-1.0, 1.0),
      {
        "CLIP (scale 1/0.07)": row0(jaxloss.clip_loss),
        "CLIP (scale 5)": row0(jaxloss.clip_loss, scale=5.0),
        "CLIP + distillation (scale 5, teacher's pair at 0.5)": row0(
          jaxloss.distill_clip_loss,
          images,
          teacher_texts,
          scale=5.0,
          teacher_scale=5.0,
        ),
        "SigLIP (scale 10, bias -10)": row0(jaxloss.siglip_loss),
        "SigLIP (scale 10, bias 0)": row0(jaxloss.siglip_loss, bias=0.0),
      },
      "CLIP's softmax only compares the pair with the negatives; "
      "SigLIP's sigmoid scores every pair on its own, and its bias sets "
      "the similarity at which a pair counts as a match. Distillation "
      "adds the cross-entropy to a teacher's softmax: with the teacher's "
      "pair at 0.5, the loss is smallest short of similarity 1.",
    ),
  ]


def image_quality_panels() -> list[Panel]:
  image = jax.random.uniform(jax.random.key(0), (1, 16, 16, 1))

  def shifted(fn, how="brightness", **kwargs):
    def f(v):
      if how == "brightness":
        pred = image + v
      else:
        pred = image.mean() + (1.0 + v) * (image - image.mean())
      return fn(image, pred, **kwargs)[0]

    return f

  return [
    Panel(
      "image_quality",
      "charbonnier",
      "Charbonnier for several eps (target 0)",
      "prediction",
      _grid(-2.0, 2.0),
      {
        f"eps={eps}": _regression(jaxloss.charbonnier, eps=eps)
        for eps in (0.001, 0.1, 0.5, 1.0)
      },
      "sqrt(e^2 + eps^2): an L1 loss rounded off over a width eps, so the "
      "gradient is continuous.",
    ),
    Panel(
      "image_quality",
      "psnr",
      "Negative PSNR of a brightness shift (max_val 1)",
      "brightness offset",
      _grid(-0.5, 0.5),
      {
        "eps=1e-10 (default)": shifted(jaxloss.psnr_loss),
        "eps=1e-4": shifted(jaxloss.psnr_loss, eps=1e-4),
      },
      "20 log10 |offset|: the gradient grows without bound near a "
      "perfect image, until the mse floor eps caps the PSNR.",
      grad_ylim=(-300.0, 300.0),
    ),
    Panel(
      "image_quality",
      "ssim",
      "SSIM loss of a 16 x 16 random image against a changed copy",
      "change (brightness offset, or contrast factor - 1)",
      _grid(-0.5, 0.5),
      {
        "brightness": shifted(jaxloss.ssim_loss),
        "contrast": shifted(jaxloss.ssim_loss, how="contrast"),
        "brightness, padding='same'": shifted(
          jaxloss.ssim_loss, padding="same"
        ),
        "brightness, uniform 7x7 window": shifted(
          jaxloss.ssim_loss, window="uniform", filter_size=7
        ),
      },
      "SSIM compares local means, variances and covariances: its "
      "luminance term is relative, so darkening costs more than "
      "brightening, and losing contrast more than gaining it. Reflect "
      "padding (kornia, torchmetrics) and a uniform window change the "
      "numbers, not the shape.",
    ),
    Panel(
      "image_quality",
      "ms_ssim_l1",
      "MS-SSIM + Gaussian-weighted L1 (Zhao et al.) of a changed copy",
      "change (brightness offset, or contrast factor - 1)",
      _grid(-0.5, 0.5),
      {
        "brightness": shifted(jaxloss.ms_ssim_l1_loss),
        "contrast": shifted(jaxloss.ms_ssim_l1_loss, how="contrast"),
      },
      "The published mix (alpha 0.025, compensation 200) is dominated by "
      "the L1 term: nearly a V in the brightness offset.",
    ),
  ]


def imbalance_panels() -> list[Panel]:
  z = _grid(-6.0, 6.0)
  counts = (1000, 10)  # a frequent class 0 and a rare class 1

  def two_class(fn, label, **kwargs):
    # x is the true class's logit (LDAM: its cosine), the other one 0.
    def f(v):
      logits = jnp.zeros(2).at[label].set(v)[None]
      return fn(jnp.array([label]), logits, **kwargs)[0]

    return f

  return [
    Panel(
      "imbalance",
      "asymmetric",
      "Asymmetric loss (one label)",
      "logit",
      z,
      {
        "positive, gamma+=0 (BCE)": _binary(
          jaxloss.asymmetric_loss, gamma_pos=0.0
        ),
        "positive, gamma+=1": _binary(jaxloss.asymmetric_loss),
        "negative, gamma-=0, clip 0 (BCE)": _binary(
          jaxloss.asymmetric_loss, label=0.0, gamma_neg=0.0, clip=0.0
        ),
        "negative, gamma-=4, clip 0.05": _binary(
          jaxloss.asymmetric_loss, label=0.0
        ),
      },
      "Negatives are focused (gamma-) and shifted (clip): an easy "
      "negative, p < clip, costs nothing at all, and a confident "
      "'negative' (maybe a missing label) at most about log(1 / clip).",
    ),
    Panel(
      "imbalance",
      "ldam",
      "LDAM for a frequent and a rare class (counts 1000, 10; scale 30)",
      "cosine logit of the true class (rival 0)",
      _grid(-1.0, 1.0),
      {
        "max margin 0 (scaled CE)": two_class(
          jaxloss.ldam_loss, 0, samples_per_class=counts, max_margin=0.0
        ),
        "frequent, max margin 0.5": two_class(
          jaxloss.ldam_loss, 0, samples_per_class=counts
        ),
        "rare, max margin 0.5": two_class(
          jaxloss.ldam_loss, 1, samples_per_class=counts
        ),
      },
      "The margin grows as n^(-1/4): the rare class must win by 0.5, the "
      "frequent one by 0.5 (10/1000)^(1/4) = 0.16.",
    ),
    Panel(
      "imbalance",
      "logit_adjusted",
      "Logit-adjusted cross-entropy (priors 0.99, 0.01)",
      "logit of the true class (rival 0)",
      z,
      {
        "tau=0 (cross-entropy)": two_class(
          jaxloss.logit_adjusted_crossentropy,
          0,
          class_priors=(0.99, 0.01),
          tau=0.0,
        ),
        "frequent, tau=1": two_class(
          jaxloss.logit_adjusted_crossentropy, 0, class_priors=(0.99, 0.01)
        ),
        "rare, tau=1": two_class(
          jaxloss.logit_adjusted_crossentropy, 1, class_priors=(0.99, 0.01)
        ),
      },
      "Adding log-priors in training shifts each class's curve by its "
      "log-prior ratio: a rare class must win by log(0.99 / 0.01) = 4.6.",
    ),
  ]


def noisy_labels_panels() -> list[Panel]:
  z = _grid(-6.0, 6.0)
  ce = jaxloss.sparse_categorical_crossentropy

  def gce(q):
    def f(v):
      probs = jax.nn.softmax(_logits(v, (0.0, 0.0)))
      return jaxloss.categorical_generalized_cross_entropy(
        jnp.array([0]), probs, q=q
      )[0]

    return f

  return [
    Panel(
      "noisy_labels",
      "gce",
      "Generalized cross-entropy (3 classes, rivals' logits 0)",
      "logit of the labelled class",
      z,
      {
        "cross-entropy (q -> 0)": _sparse(ce, from_logits=True),
        **{
          f"GCE q={q}" + (" (MAE)" if q == 1.0 else ""): gce(q)
          for q in (0.3, 0.7, 1.0)
        },
      },
      "(1 - p_y^q) / q is bounded by 1/q: a wrongly labelled example "
      "(very negative logit) stops pulling as q grows.",
    ),
    Panel(
      "noisy_labels",
      "bitempered",
      "Bi-tempered logistic loss (3 classes, rivals' logits 0)",
      "logit of the labelled class",
      z,
      {
        f"t1={t1}, t2={t2}": _onehot(jaxloss.bitempered_logistic, t1=t1, t2=t2)
        for t1, t2 in ((1.0, 1.0), (0.8, 1.0), (0.5, 1.0), (0.8, 1.5))
      },
      "t1 < 1 bounds the loss (robust to mislabelled outliers); t2 > 1 "
      "gives the tempered softmax heavier tails. t1 = t2 = 1 is the "
      "cross-entropy.",
    ),
    Panel(
      "noisy_labels",
      "noise_robust",
      "Noise-robust cross-entropies (3 classes, rivals' logits 0)",
      "logit of the labelled class",
      z,
      {
        "cross-entropy": _sparse(ce, from_logits=True),
        "Taylor CE (order 2)": _sparse(jaxloss.taylor_crossentropy),
        "symmetric CE (alpha 0.1, beta 1)": _sparse(
          jaxloss.symmetric_crossentropy
        ),
        "NCE + RCE": _sparse(jaxloss.active_passive_loss),
      },
      "Truncating, symmetrising or normalising the cross-entropy bounds "
      "it, so a confidently contradicted label has a small gradient.",
    ),
  ]


def distributional_panels() -> list[Panel]:
  def crps_ensemble(v):
    members = v + jnp.array([-1.0, 0.0, 1.0])
    return jaxloss.crps_ensemble(jnp.zeros(1), members[None])[0]

  def evidential(coeff):
    def f(g):
      nig = jnp.stack([g, 1.0, 2.0, 1.0])[None]  # gamma, nu, alpha, beta
      return jaxloss.evidential_regression(jnp.zeros(1), nig, coeff=coeff)[0]

    return f

  return [
    Panel(
      "distributional",
      "crps",
      "CRPS of Gaussian, logistic and ensemble forecasts (observation 0)",
      "forecast mean (location)",
      _grid(-3.0, 3.0),
      {
        **{
          f"Gaussian, std={s}"
          + (" (= MAE)" if s == 0 else ""): lambda m, s=s: (
            jaxloss.crps_gaussian(jnp.zeros(1), m[None], jnp.full((1,), s))[0]
          )
          for s in (0.0, 0.5, 2.0)
        },
        "logistic, scale=0.5": lambda m: jaxloss.crps_logistic(
          jnp.zeros(1), m[None], jnp.full((1,), 0.5)
        )[0],
        "ensemble (mean + -1, 0, 1)": crps_ensemble,
      },
      "A proper score in the units of the observation: it tends to the "
      "absolute error far away and rounds it off over the forecast's "
      "spread.",
    ),
    Panel(
      "distributional",
      "evidential",
      "Deep evidential regression (nu=1, alpha=2, beta=1; target 0)",
      "predicted mean gamma",
      _grid(-4.0, 4.0),
      {f"coeff={c}": evidential(c) for c in (0.0, 0.1, 0.5)},
      "A Student-t NLL (heavy tails, logarithmic growth) plus coeff |y - "
      "gamma| (2 nu + alpha), which penalises evidence on errors.",
    ),
  ]


def survival_panels() -> list[Panel]:
  times = jnp.array([1.0, 1.0, 2.0, 3.0])
  events = jnp.array([1, 1, 1, 0])

  def cox(index, ties):
    def f(v):
      scores = jnp.zeros(4).at[index].set(v)
      return jaxloss.cox_ph(times, events, scores, ties=ties)

    return f

  def discrete(interval, event):
    def f(v):
      logits = jnp.full((1, 4), v)
      return jaxloss.discrete_survival_nll(
        jnp.array([interval]), jnp.array([event]), logits
      )[0]

    return f

  return [
    Panel(
      "survival",
      "cox",
      "Cox partial likelihood, 4 patients (times 1, 1, 2, 3+)",
      "risk score of one patient (others 0)",
      _grid(-4.0, 4.0),
      {
        "earliest event, Breslow": cox(0, "breslow"),
        "earliest event, Efron": cox(0, "efron"),
        "censored at 3, Breslow": cox(3, "breslow"),
      },
      "An early event wants a high risk score, but it also sits in the "
      "risk set of its tied partner, which pulls back: the minimum is "
      "finite. A censored patient, only ever in risk sets, wants a low "
      "score. Efron corrects Breslow for the tie at time 1.",
    ),
    Panel(
      "survival",
      "discrete_survival",
      "Discrete-time survival NLL (4 intervals, one hazard logit)",
      "hazard logit of every interval",
      _grid(-5.0, 5.0),
      {
        "event in interval 0": discrete(0, 1),
        "event in interval 2": discrete(2, 1),
        "censored in interval 2": discrete(2, 0),
      },
      "An event in interval k asks for survival through k intervals, "
      "then the event: the best constant hazard is 1 / (k + 1); a "
      "censored sample only asks for survival.",
      ylim=(-0.5, 12.0),
    ),
  ]


def preference_panels() -> list[Panel]:
  def dpo(**kwargs):
    def f(h):
      zero = jnp.zeros(1)
      return jaxloss.dpo(h[None], zero, zero, zero, beta=1.0, **kwargs)[0]

    return f

  def split(**kwargs):
    # The margin h split evenly: chosen log-ratio h/2, rejected -h/2 (the
    # loss types that read the two log-ratios apart see a symmetric pair).
    def f(h):
      zero = jnp.zeros(1)
      return jaxloss.dpo(
        h[None] / 2, -h[None] / 2, zero, zero, beta=1.0, **kwargs
      )[0]

    return f

  def alphapo(a):
    def f(c):
      return jaxloss.cpo(
        c[None], jnp.full(1, -1.0), beta=2.0, cpo_alpha=0.0, alphapo_alpha=a
      )[0]

    return f

  def kto(desirable, beta):
    def f(r):
      return jaxloss.kto(
        r[None], jnp.zeros(1), jnp.array([desirable]), kl=0.0, beta=beta
      )[0]

    return f

  return [
    Panel(
      "preference",
      "dpo",
      "DPO and its variants (beta=1)",
      "reward margin h (chosen minus rejected log-ratio)",
      _grid(-4.0, 4.0),
      {
        "sigmoid (DPO)": dpo(),
        "sigmoid, label smoothing 0.1 (cDPO)": dpo(label_smoothing=0.1),
        "robust, eps=0.1": dpo(loss_type="robust", label_smoothing=0.1),
        "hinge (SLiC)": dpo(loss_type="hinge"),
        "IPO": dpo(loss_type="ipo"),
      },
      "DPO keeps pushing the margin up; label smoothing and IPO's squared "
      "loss (target margin 1 / (2 beta)) stop it at a finite margin.",
      ylim=(-0.5, 6.0),
      grad_ylim=(-4.0, 3.0),
    ),
    Panel(
      "preference",
      "kto",
      "KTO on unpaired examples (reference point 0)",
      "policy-to-reference log-ratio r",
      _grid(-10.0, 10.0),
      {
        f"{'desirable' if d else 'undesirable'}, beta={b}": kto(d, b)
        for b in (0.1, 0.5)
        for d in (True, False)
      },
      "A sigmoid value function: bounded, so one very confident example "
      "cannot dominate a batch.",
    ),
    Panel(
      "preference",
      "dpo_trl_types",
      "DPO loss types of TRL (beta=1, chosen / rejected log-ratio +-h/2)",
      "reward margin h (chosen minus rejected log-ratio)",
      _grid(-4.0, 4.0),
      {
        "EXO, eps=0.1": split(loss_type="exo_pair", label_smoothing=0.1),
        "NCA": split(loss_type="nca_pair"),
        "BCO (reward mean 0)": split(loss_type="bco_pair"),
        "SPPO (hard)": split(loss_type="sppo_hard"),
        "APO-zero": split(loss_type="apo_zero"),
        "DiscoPOP, tau=0.05": split(loss_type="discopop"),
      },
      "EXO's gradient vanishes once the pair is ordered with probability "
      "1 - eps; SPPO's squared targets pull each log-ratio to +-1/(2 beta); "
      "NCA turns back past a margin of about 2; DiscoPOP switches from the "
      "logistic to the exponential loss at h = 0 (the spike, width tau).",
      ylim=(-0.5, 6.0),
      grad_ylim=(-3.0, 2.0),
    ),
    Panel(
      "preference",
      "dpo_f_divergence",
      "f-DPO scores, APO-down and the MPO mixture (beta=1, log-ratios +-h/2)",
      "reward margin h (chosen minus rejected log-ratio)",
      _grid(-4.0, 4.0),
      {
        "sigmoid (reverse KL)": split(),
        "forward KL": split(f_divergence="forward_kl"),
        "JS divergence": split(f_divergence="js_divergence"),
        "alpha divergence, a=0.5": split(f_divergence="alpha_divergence"),
        "APO-down": split(loss_type="apo_down"),
        "MPO: 0.8 sigmoid + 0.2 BCO + SFT": split(
          loss_type=("sigmoid", "bco_pair", "sft"),
          loss_weights=(0.8, 0.2, 1.0),
        ),
      },
      "The f-divergence changes how fast the gradient dies once the "
      "chosen response wins; the SFT term (here -h/2, the chosen "
      "log-probability) adds a constant pull.",
      ylim=(-2.5, 6.0),
      grad_ylim=(-3.0, 1.0),
    ),
    Panel(
      "preference",
      "cpo_alphapo",
      "CPO with AlphaPO's reward shape (beta=2, rejected log-prob -1)",
      "chosen average log-probability",
      _grid(-3.0, -0.05),
      {f"alphapo_alpha={a}": alphapo(a) for a in (0.0, 0.25, 1.0, -0.5)},
      "The reward's slope is p ** -alpha: alpha > 0 steepens it for unlikely "
      "responses, alpha < 0 flattens it; alpha = 0 is the log-probability "
      "reward of CPO and SimPO.",
      ylim=(0.0, 8.0),
      grad_ylim=(-8.0, 0.5),
    ),
  ]


def policy_panels() -> list[Panel]:
  def pg(advantage, **kwargs):
    def f(d):
      return jaxloss.policy_gradient(
        d[None, None],
        jnp.zeros((1, 1)),
        jnp.array([advantage]),
        where=jnp.ones((1, 1), bool),
        clip_epsilon=0.2,
        clip_epsilon_high=0.28,
        **kwargs,
      )

    return f

  def variants(advantage):
    out = {"PPO / GRPO": pg(advantage)}
    if advantage < 0:
      out["PPO, dual clip c=3"] = pg(advantage, clip_ratio_c=3.0)
    out.update(
      {
        "CISPO": pg(advantage, objective="cispo"),
        "SAPO": pg(advantage, objective="sapo"),
        "GMPO (log-ratio clip)": pg(advantage, objective="gmpo"),
        "VESPO": pg(advantage, objective="vespo"),
      }
    )
    return out

  return [
    Panel(
      "policy",
      "policy_positive",
      "Policy-gradient objectives, advantage +1",
      "log-ratio log pi - log pi_old",
      _grid(-1.5, 1.5),
      variants(1.0),
      "PPO's clip and GMPO's log-space clip cut the gradient off past the "
      "upper bound; CISPO keeps it, at the clipped weight; SAPO's and "
      "VESPO's weights decay smoothly instead (VESPO's gamma weight peaks "
      "at ratio k / lambda = 2/3 with its default k = 2, lambda = 3).",
      ylim=(-5.0, 3.0),
      grad_ylim=(-3.5, 0.5),
    ),
    Panel(
      "policy",
      "policy_negative",
      "Policy-gradient objectives, advantage -1",
      "log-ratio log pi - log pi_old",
      _grid(-1.5, 1.5),
      variants(-1.0),
      "With a negative advantage PPO's loss grows with the ratio without "
      "bound; the dual clip caps it at c |A| (as INTELLECT-2's delta does), "
      "while SAPO's and VESPO's weights vanish far from ratio 1.",
      ylim=(-3.0, 5.0),
      grad_ylim=(-0.5, 5.0),
    ),
  ]


def panels() -> list[Panel]:
  builders = (
    regression_panels,
    adaptive_panels,
    crossentropy_panels,
    hinge_panels,
    sparsemax_panels,
    overlap_panels,
    embedding_panels,
    metric_learning_panels,
    likelihood_panels,
    boxes_panels,
    ranking_panels,
    sequence_panels,
    margin_softmax_panels,
    proxy_panels,
    contrastive_panels,
    image_quality_panels,
    imbalance_panels,
    noisy_labels_panels,
    distributional_panels,
    survival_panels,
    preference_panels,
    policy_panels,
  )
  return [panel for build in builders for panel in build()]


# XLA options that cut the compile time of these tiny programs by about 4x
# (the programs run in microseconds; compiling them is the whole cost).
# An XLA without one of them rejects it, and the defaults are used instead.
FAST_COMPILE = {
  "xla_backend_optimization_level": 0,
  "xla_llvm_disable_expensive_passes": True,
  "xla_cpu_use_fusion_emitters": False,
}


def curves(panel: Panel) -> list[tuple[jax.Array, jax.Array]]:
  """Each variant's values and gradients on ``panel.x``, in one program."""
  fns = list(panel.variants.values())

  def run(x):
    return [jax.vmap(jax.value_and_grad(fn))(x) for fn in fns]

  lowered = jax.jit(run).lower(panel.x)
  try:
    compiled = lowered.compile(compiler_options=FAST_COMPILE)
  except (jax.errors.JaxRuntimeError, ValueError):
    compiled = lowered.compile()
  return compiled(panel.x)


# Colour and dash per variant, so that curves which coincide stay visible.
STYLES = ("-", "--", "-.", ":", (0, (5, 1, 1, 1, 1, 1)), (0, (8, 2)))


def draw(panel: Panel) -> pathlib.Path:
  fig, (ax_v, ax_g) = plt.subplots(1, 2, figsize=(9.5, 3.6))
  results = zip(panel.variants, curves(panel), STYLES, strict=False)
  for label, (values, grads), style in results:
    ax_v.plot(panel.x, values, linestyle=style, lw=1.5, label=label)
    ax_g.plot(panel.x, grads, linestyle=style, lw=1.5, label=label)
  ax_v.set(title="loss", xlabel=panel.xlabel)
  ax_g.set(title="gradient d loss / d x", xlabel=panel.xlabel)
  if panel.ylim is not None:
    ax_v.set_ylim(*panel.ylim)
  if panel.grad_ylim is not None:
    ax_g.set_ylim(*panel.grad_ylim)
  for ax in (ax_v, ax_g):
    ax.grid(alpha=0.3)
    ax.axhline(0.0, color="0.6", lw=0.6)
  ax_v.legend(fontsize=7.5)
  fig.suptitle(panel.title)
  # Fixed margins: tight_layout would cost one more rendering per figure.
  fig.subplots_adjust(left=0.07, right=0.985, bottom=0.14, top=0.84, wspace=0.2)
  path = OUT / f"{panel.slug}.png"
  fig.savefig(path, dpi=80)
  plt.close(fig)
  return path


def index(all_panels: list[Panel]) -> str:
  lines = [
    "# Loss gallery",
    "",
    "Each figure is drawn by `docs/tools/gallery.py` from the library "
    "itself: the loss (left) and its gradient (right, `jax.grad` of the "
    "same call) against the prediction, logit, margin or offset on the "
    "horizontal axis, for a typical target and a few hyper-parameter "
    "values.",
    "",
  ]
  for family, (heading, note) in FAMILIES.items():
    members = [p for p in all_panels if p.family == family]
    if not members:
      continue
    lines += [f"## {heading}", "", note, ""]
    for panel in members:
      lines += [
        f"### {panel.title}",
        "",
        f"![{panel.title}]({panel.slug}.png)",
        "",
        panel.note,
        "",
      ]
  return "\n".join(lines)


def main() -> list[pathlib.Path]:
  OUT.mkdir(parents=True, exist_ok=True)
  all_panels = panels()
  unknown = {p.family for p in all_panels} - FAMILIES.keys()
  if unknown:
    raise ValueError(f"gallery: panels of unknown families {sorted(unknown)}")
  crowded = [p.slug for p in all_panels if len(p.variants) > len(STYLES)]
  if crowded:
    raise ValueError(f"gallery: more than {len(STYLES)} variants in {crowded}")
  slugs = [p.slug for p in all_panels]
  if len(set(slugs)) != len(slugs):
    raise ValueError(f"gallery: duplicate slugs in {slugs}")
  paths = [draw(panel) for panel in all_panels]
  (OUT / "index.md").write_text(index(all_panels))
  return paths


if __name__ == "__main__":
  start = time.perf_counter()
  drawn = main()
  print(f"drew {len(drawn)} figures in {time.perf_counter() - start:.1f} s")
