"""jaxloss: differentiable loss functions for JAX.

Per-sample loss functions, a ``reduce`` transform, Keras-style loss objects
and a name registry. See the README for a tour.
"""

from typing import Any

from jaxloss import regularizers

# isort: split
# Types, reductions, loss objects and the registry.
from jaxloss._src.debug import checked
from jaxloss._src.multi_output import combine
from jaxloss._src.objects import Loss
from jaxloss._src.objects import LossFunctionWrapper
from jaxloss._src.objects import deserialize
from jaxloss._src.objects import get
from jaxloss._src.objects import names
from jaxloss._src.objects import serialize
from jaxloss._src.objects import wrap
from jaxloss._src.reduction import class_weights_to_sample_weights
from jaxloss._src.reduction import reduce
from jaxloss._src.typing import InputLike

# isort: split
# Cross-entropy and focal (Keras forms).
from jaxloss._src.losses.crossentropy import BinaryCrossentropy
from jaxloss._src.losses.crossentropy import BinaryFocalCrossentropy
from jaxloss._src.losses.crossentropy import CategoricalCrossentropy
from jaxloss._src.losses.crossentropy import CategoricalFocalCrossentropy
from jaxloss._src.losses.crossentropy import CategoricalGeneralizedCrossEntropy
from jaxloss._src.losses.crossentropy import KLDiv
from jaxloss._src.losses.crossentropy import KLDivergence
from jaxloss._src.losses.crossentropy import Poisson
from jaxloss._src.losses.crossentropy import SparseCategoricalCrossentropy
from jaxloss._src.losses.crossentropy import binary_crossentropy
from jaxloss._src.losses.crossentropy import binary_focal_crossentropy
from jaxloss._src.losses.crossentropy import categorical_crossentropy
from jaxloss._src.losses.crossentropy import categorical_focal_crossentropy
from jaxloss._src.losses.crossentropy import (
  categorical_generalized_cross_entropy,
)
from jaxloss._src.losses.crossentropy import kl_div
from jaxloss._src.losses.crossentropy import kl_divergence
from jaxloss._src.losses.crossentropy import poisson
from jaxloss._src.losses.crossentropy import sparse_categorical_crossentropy

# isort: split
# Likelihood: sigmoid focal, Poisson / Gaussian NLL, F-beta, kappa, z-loss.
from jaxloss._src.losses.likelihood import FBetaLoss
from jaxloss._src.losses.likelihood import GaussianNLLLoss
from jaxloss._src.losses.likelihood import PoissonNLLLoss
from jaxloss._src.losses.likelihood import SigmoidFocalCrossEntropy
from jaxloss._src.losses.likelihood import WeightedKappaLoss
from jaxloss._src.losses.likelihood import ZLoss
from jaxloss._src.losses.likelihood import fbeta_loss
from jaxloss._src.losses.likelihood import gaussian_nll
from jaxloss._src.losses.likelihood import poisson_nll
from jaxloss._src.losses.likelihood import sigmoid_focal_crossentropy
from jaxloss._src.losses.likelihood import weighted_kappa_loss
from jaxloss._src.losses.likelihood import z_loss

# isort: split
# Regression and robust.
from jaxloss._src.losses.adaptive import adaptive_robust_nll
from jaxloss._src.losses.adaptive import uncertainty_weighting
from jaxloss._src.losses.regression import CosineSimilarity
from jaxloss._src.losses.regression import Huber
from jaxloss._src.losses.regression import LogCosh
from jaxloss._src.losses.regression import MeanAbsoluteError
from jaxloss._src.losses.regression import MeanAbsolutePercentageError
from jaxloss._src.losses.regression import MeanSquaredError
from jaxloss._src.losses.regression import MeanSquaredLogarithmicError
from jaxloss._src.losses.regression import PinballLoss
from jaxloss._src.losses.regression import RobustLoss
from jaxloss._src.losses.regression import SmoothL1Loss
from jaxloss._src.losses.regression import cosine_similarity
from jaxloss._src.losses.regression import huber
from jaxloss._src.losses.regression import log_cosh
from jaxloss._src.losses.regression import mean_absolute_error
from jaxloss._src.losses.regression import mean_absolute_percentage_error
from jaxloss._src.losses.regression import mean_squared_error
from jaxloss._src.losses.regression import mean_squared_logarithmic_error
from jaxloss._src.losses.regression import pinball
from jaxloss._src.losses.regression import robust_loss
from jaxloss._src.losses.regression import smooth_l1

# isort: split
# Hinge and margin.
from jaxloss._src.losses.hinge import CategoricalHinge
from jaxloss._src.losses.hinge import CosineEmbeddingLoss
from jaxloss._src.losses.hinge import Hinge
from jaxloss._src.losses.hinge import HingeEmbeddingLoss
from jaxloss._src.losses.hinge import MarginRankingLoss
from jaxloss._src.losses.hinge import MultiLabelSoftMarginLoss
from jaxloss._src.losses.hinge import MultiMarginLoss
from jaxloss._src.losses.hinge import SoftMarginLoss
from jaxloss._src.losses.hinge import SquaredHinge
from jaxloss._src.losses.hinge import categorical_hinge
from jaxloss._src.losses.hinge import cosine_embedding
from jaxloss._src.losses.hinge import hinge
from jaxloss._src.losses.hinge import hinge_embedding
from jaxloss._src.losses.hinge import margin_ranking
from jaxloss._src.losses.hinge import multi_margin
from jaxloss._src.losses.hinge import multilabel_soft_margin
from jaxloss._src.losses.hinge import soft_margin
from jaxloss._src.losses.hinge import squared_hinge

# isort: split
# Overlap: Dice, Tversky, Jaccard, Lovász.
from jaxloss._src.losses.overlap import Dice
from jaxloss._src.losses.overlap import FocalTversky
from jaxloss._src.losses.overlap import Jaccard
from jaxloss._src.losses.overlap import LovaszHinge
from jaxloss._src.losses.overlap import LovaszSoftmax
from jaxloss._src.losses.overlap import MCCLoss
from jaxloss._src.losses.overlap import Tversky
from jaxloss._src.losses.overlap import dice
from jaxloss._src.losses.overlap import focal_tversky
from jaxloss._src.losses.overlap import jaccard
from jaxloss._src.losses.overlap import lovasz_hinge
from jaxloss._src.losses.overlap import lovasz_softmax
from jaxloss._src.losses.overlap import mcc_loss
from jaxloss._src.losses.overlap import tversky

# isort: split
# Boxes.
from jaxloss._src.losses.boxes import CIoULoss
from jaxloss._src.losses.boxes import DIoULoss
from jaxloss._src.losses.boxes import GIoULoss
from jaxloss._src.losses.boxes import IoULoss
from jaxloss._src.losses.boxes import ciou_loss
from jaxloss._src.losses.boxes import diou_loss
from jaxloss._src.losses.boxes import giou_loss
from jaxloss._src.losses.boxes import iou_loss

# isort: split
# Embedding and metric learning.
from jaxloss._src.losses.embedding import Circle
from jaxloss._src.losses.embedding import ContrastiveLoss
from jaxloss._src.losses.embedding import InfoNCE
from jaxloss._src.losses.embedding import LiftedStructLoss
from jaxloss._src.losses.embedding import NpairsLoss
from jaxloss._src.losses.embedding import QuadrupletLoss
from jaxloss._src.losses.embedding import SupervisedContrastive
from jaxloss._src.losses.embedding import TripletHardLoss
from jaxloss._src.losses.embedding import TripletMarginLoss
from jaxloss._src.losses.embedding import TripletSemiHardLoss
from jaxloss._src.losses.embedding import circle
from jaxloss._src.losses.embedding import contrastive_loss
from jaxloss._src.losses.embedding import info_nce
from jaxloss._src.losses.embedding import lifted_struct_loss
from jaxloss._src.losses.embedding import npairs_loss
from jaxloss._src.losses.embedding import quadruplet_loss
from jaxloss._src.losses.embedding import supervised_contrastive
from jaxloss._src.losses.embedding import triplet_hard_loss
from jaxloss._src.losses.embedding import triplet_margin_loss
from jaxloss._src.losses.embedding import triplet_semihard_loss
from jaxloss._src.losses.metric import FastAP
from jaxloss._src.losses.metric import MarginLoss
from jaxloss._src.losses.metric import MultiSimilarity
from jaxloss._src.losses.metric import TupletMargin
from jaxloss._src.losses.metric import angular_miner
from jaxloss._src.losses.metric import batch_hard_miner
from jaxloss._src.losses.metric import fast_ap
from jaxloss._src.losses.metric import margin_loss
from jaxloss._src.losses.metric import multi_similarity
from jaxloss._src.losses.metric import multi_similarity_miner
from jaxloss._src.losses.metric import pair_margin_miner
from jaxloss._src.losses.metric import triplet_margin_miner
from jaxloss._src.losses.metric import tuplet_margin

# isort: split
# Margin-softmax heads.
from jaxloss._src.losses.margin_softmax import ArcFace
from jaxloss._src.losses.margin_softmax import CenterLoss
from jaxloss._src.losses.margin_softmax import CosFace
from jaxloss._src.losses.margin_softmax import LargeMarginSoftmax
from jaxloss._src.losses.margin_softmax import NormalizedSoftmax
from jaxloss._src.losses.margin_softmax import ProxyAnchor
from jaxloss._src.losses.margin_softmax import ProxyNCA
from jaxloss._src.losses.margin_softmax import SoftTriple
from jaxloss._src.losses.margin_softmax import SphereFace
from jaxloss._src.losses.margin_softmax import SubCenterArcFace
from jaxloss._src.losses.margin_softmax import arcface
from jaxloss._src.losses.margin_softmax import arcface_logits
from jaxloss._src.losses.margin_softmax import center_loss
from jaxloss._src.losses.margin_softmax import class_cosines
from jaxloss._src.losses.margin_softmax import cosface
from jaxloss._src.losses.margin_softmax import cosface_logits
from jaxloss._src.losses.margin_softmax import large_margin_softmax
from jaxloss._src.losses.margin_softmax import normalized_softmax
from jaxloss._src.losses.margin_softmax import proxy_anchor
from jaxloss._src.losses.margin_softmax import proxy_nca
from jaxloss._src.losses.margin_softmax import soft_triple
from jaxloss._src.losses.margin_softmax import sphereface
from jaxloss._src.losses.margin_softmax import subcenter_arcface

# isort: split
# Ranking.
from jaxloss._src.losses.ranking import ApproxNDCG
from jaxloss._src.losses.ranking import ListMLE
from jaxloss._src.losses.ranking import ListNet
from jaxloss._src.losses.ranking import PairwiseHinge
from jaxloss._src.losses.ranking import PairwiseLogistic
from jaxloss._src.losses.ranking import approx_ndcg
from jaxloss._src.losses.ranking import listmle
from jaxloss._src.losses.ranking import listnet
from jaxloss._src.losses.ranking import pairwise_hinge
from jaxloss._src.losses.ranking import pairwise_logistic

# isort: split
# Sequence: CTC, RNN-T.
from jaxloss._src.losses.sequence import CTC
from jaxloss._src.losses.sequence import ctc
from jaxloss._src.losses.transducer import RNNTLoss
from jaxloss._src.losses.transducer import RNNTLossFromLogProbs
from jaxloss._src.losses.transducer import rnnt_loss
from jaxloss._src.losses.transducer import rnnt_loss_from_log_probs

# isort: split
# Contrastive at scale: CLIP, SigLIP.
from jaxloss._src.losses.contrastive import CLIPLoss
from jaxloss._src.losses.contrastive import CoCaLoss
from jaxloss._src.losses.contrastive import DistillCLIPLoss
from jaxloss._src.losses.contrastive import SigLIPLoss
from jaxloss._src.losses.contrastive import clip_loss
from jaxloss._src.losses.contrastive import coca_loss
from jaxloss._src.losses.contrastive import distill_clip_loss
from jaxloss._src.losses.contrastive import sharded_clip_loss
from jaxloss._src.losses.contrastive import sharded_coca_loss
from jaxloss._src.losses.contrastive import sharded_distill_clip_loss
from jaxloss._src.losses.contrastive import sharded_siglip_loss
from jaxloss._src.losses.contrastive import siglip_loss

# isort: split
# Image quality.
from jaxloss._src.losses.image_quality import Charbonnier
from jaxloss._src.losses.image_quality import FeatureMatchingLoss
from jaxloss._src.losses.image_quality import GradientDifferenceLoss
from jaxloss._src.losses.image_quality import MSSSIML1Loss
from jaxloss._src.losses.image_quality import MSSSIMLoss
from jaxloss._src.losses.image_quality import PSNRLoss
from jaxloss._src.losses.image_quality import SSIMLoss
from jaxloss._src.losses.image_quality import TotalVariation
from jaxloss._src.losses.image_quality import charbonnier
from jaxloss._src.losses.image_quality import feature_matching_loss
from jaxloss._src.losses.image_quality import gradient_difference_loss
from jaxloss._src.losses.image_quality import ms_ssim_l1_loss
from jaxloss._src.losses.image_quality import ms_ssim_loss
from jaxloss._src.losses.image_quality import psnr_loss
from jaxloss._src.losses.image_quality import ssim_loss
from jaxloss._src.losses.image_quality import total_variation

# isort: split
# Class imbalance and noisy labels.
from jaxloss._src.losses.imbalance import AsymmetricLoss
from jaxloss._src.losses.imbalance import ClassBalancedLoss
from jaxloss._src.losses.imbalance import EqualizationLossV2
from jaxloss._src.losses.imbalance import LDAMLoss
from jaxloss._src.losses.imbalance import LogitAdjustedCrossentropy
from jaxloss._src.losses.imbalance import SeesawLoss
from jaxloss._src.losses.imbalance import asymmetric_loss
from jaxloss._src.losses.imbalance import class_balanced_loss
from jaxloss._src.losses.imbalance import class_balanced_weights
from jaxloss._src.losses.imbalance import equalization_loss_v2
from jaxloss._src.losses.imbalance import equalization_loss_v2_statistics
from jaxloss._src.losses.imbalance import ldam_loss
from jaxloss._src.losses.imbalance import ldam_margins
from jaxloss._src.losses.imbalance import logit_adjusted_crossentropy
from jaxloss._src.losses.imbalance import seesaw_loss
from jaxloss._src.losses.noisy_labels import ActivePassiveLoss
from jaxloss._src.losses.noisy_labels import BitemperedLogistic
from jaxloss._src.losses.noisy_labels import SymmetricCrossentropy
from jaxloss._src.losses.noisy_labels import TaylorCrossentropy
from jaxloss._src.losses.noisy_labels import active_passive_loss
from jaxloss._src.losses.noisy_labels import bitempered_logistic
from jaxloss._src.losses.noisy_labels import symmetric_crossentropy
from jaxloss._src.losses.noisy_labels import taylor_crossentropy

# isort: split
# Distributional and survival.
from jaxloss._src.losses.distributional import MDNNLL
from jaxloss._src.losses.distributional import MMD
from jaxloss._src.losses.distributional import CRPSEnsemble
from jaxloss._src.losses.distributional import CRPSGaussian
from jaxloss._src.losses.distributional import CRPSLogistic
from jaxloss._src.losses.distributional import EnergyDistance
from jaxloss._src.losses.distributional import EnergyScore
from jaxloss._src.losses.distributional import EvidentialRegression
from jaxloss._src.losses.distributional import crps_ensemble
from jaxloss._src.losses.distributional import crps_gaussian
from jaxloss._src.losses.distributional import crps_logistic
from jaxloss._src.losses.distributional import energy_distance
from jaxloss._src.losses.distributional import energy_score
from jaxloss._src.losses.distributional import evidential_regression
from jaxloss._src.losses.distributional import mdn_nll
from jaxloss._src.losses.distributional import mmd
from jaxloss._src.losses.survival import CoxPH
from jaxloss._src.losses.survival import DiscreteSurvivalNLL
from jaxloss._src.losses.survival import cox_ph
from jaxloss._src.losses.survival import discrete_survival_nll

# isort: split
# LM: fused and vocab-parallel cross-entropy, log-probs, sequences.
from jaxloss._src.lm.cross_entropy import linear_cross_entropy
from jaxloss._src.lm.log_probs import linear_log_probs
from jaxloss._src.lm.log_probs import vocab_parallel_log_probs
from jaxloss._src.lm.multi_token import multi_token_prediction_loss
from jaxloss._src.lm.sampling import SamplingRule
from jaxloss._src.lm.segments import segment_broadcast
from jaxloss._src.lm.segments import segment_reduce
from jaxloss._src.lm.sequences import group_advantages
from jaxloss._src.lm.sequences import sequence_log_probs
from jaxloss._src.lm.vocab_parallel import count_tokens
from jaxloss._src.lm.vocab_parallel import vocab_parallel_cross_entropy
from jaxloss._src.lm.vocab_parallel import vocab_parallel_linear_cross_entropy

# isort: split
# LM post-training: preference, policy gradient, distillation.
from jaxloss._src.lm.distillation import distillation
from jaxloss._src.lm.distillation import linear_distillation
from jaxloss._src.lm.distillation import linear_topk_distillation
from jaxloss._src.lm.distillation import topk_distillation
from jaxloss._src.lm.distillation import vocab_parallel_linear_distillation
from jaxloss._src.lm.policy import policy_gradient
from jaxloss._src.lm.preference import cpo
from jaxloss._src.lm.preference import dpo
from jaxloss._src.lm.preference import kto
from jaxloss._src.lm.preference import length_desensitized_logps
from jaxloss._src.lm.preference import orpo
from jaxloss._src.lm.preference import simpo
from jaxloss._src.lm.preference import wpo_logps

# isort: split
# LM: MoE router losses.
from jaxloss._src.lm.router import load_balancing_loss
from jaxloss._src.lm.router import router_z_loss
from jaxloss._src.lm.router import sequence_load_balancing_loss

# Keras's short aliases, as module attributes too.
mse = MSE = mean_squared_error
mae = MAE = mean_absolute_error
mape = MAPE = mean_absolute_percentage_error
msle = MSLE = mean_squared_logarithmic_error
kld = KLD = kl_divergence
kullback_leibler_divergence = kl_divergence
bce = BCE = binary_crossentropy
logcosh = log_cosh

__version__ = "0.3.0"


# Names renamed in 0.3: still importable, with a DeprecationWarning.
_RENAMED = {
  "triplet_margin": "triplet_margin_loss",
  "TripletMargin": "TripletMarginLoss",
}


def __getattr__(name: str) -> Any:
  # Lazy submodules: `import jaxloss; jaxloss.optax.softmax_cross_entropy(...)`
  # works without importing the optax forms up front; `jaxloss.flax` and
  # `jaxloss.keras` import their optional extra only when first touched.
  if name in ("optax", "flax", "keras"):
    import importlib  # noqa: PLC0415

    return importlib.import_module(f"jaxloss.{name}")
  if name in _RENAMED:
    import warnings  # noqa: PLC0415

    new = _RENAMED[name]
    warnings.warn(
      f"jaxloss.{name} is deprecated, use jaxloss.{new} instead",
      DeprecationWarning,
      stacklevel=2,
    )
    return globals()[new]
  raise AttributeError(f"module 'jaxloss' has no attribute {name!r}")


__all__ = ["regularizers"]
# Types, reductions, loss objects and the registry.
__all__ += [
  "checked",
  "class_weights_to_sample_weights",
  "combine",
  "deserialize",
  "get",
  "InputLike",
  "Loss",
  "LossFunctionWrapper",
  "names",
  "reduce",
  "serialize",
  "wrap",
]
# Cross-entropy and focal (Keras forms).
__all__ += [
  "BCE",
  "bce",
  "binary_crossentropy",
  "binary_focal_crossentropy",
  "BinaryCrossentropy",
  "BinaryFocalCrossentropy",
  "categorical_crossentropy",
  "categorical_focal_crossentropy",
  "categorical_generalized_cross_entropy",
  "CategoricalCrossentropy",
  "CategoricalFocalCrossentropy",
  "CategoricalGeneralizedCrossEntropy",
  "kl_div",
  "kl_divergence",
  "KLD",
  "kld",
  "KLDiv",
  "KLDivergence",
  "kullback_leibler_divergence",
  "Poisson",
  "poisson",
  "sparse_categorical_crossentropy",
  "SparseCategoricalCrossentropy",
]
# Likelihood: sigmoid focal, Poisson / Gaussian NLL, F-beta, kappa, z-loss.
__all__ += [
  "fbeta_loss",
  "FBetaLoss",
  "gaussian_nll",
  "GaussianNLLLoss",
  "poisson_nll",
  "PoissonNLLLoss",
  "sigmoid_focal_crossentropy",
  "SigmoidFocalCrossEntropy",
  "weighted_kappa_loss",
  "WeightedKappaLoss",
  "z_loss",
  "ZLoss",
]
# Regression and robust.
__all__ += [
  "adaptive_robust_nll",
  "cosine_similarity",
  "CosineSimilarity",
  "Huber",
  "huber",
  "log_cosh",
  "LogCosh",
  "logcosh",
  "MAE",
  "mae",
  "MAPE",
  "mape",
  "mean_absolute_error",
  "mean_absolute_percentage_error",
  "mean_squared_error",
  "mean_squared_logarithmic_error",
  "MeanAbsoluteError",
  "MeanAbsolutePercentageError",
  "MeanSquaredError",
  "MeanSquaredLogarithmicError",
  "MSE",
  "mse",
  "MSLE",
  "msle",
  "pinball",
  "PinballLoss",
  "robust_loss",
  "RobustLoss",
  "smooth_l1",
  "SmoothL1Loss",
  "uncertainty_weighting",
]
# Hinge and margin.
__all__ += [
  "categorical_hinge",
  "CategoricalHinge",
  "cosine_embedding",
  "CosineEmbeddingLoss",
  "Hinge",
  "hinge",
  "hinge_embedding",
  "HingeEmbeddingLoss",
  "margin_ranking",
  "MarginRankingLoss",
  "multi_margin",
  "multilabel_soft_margin",
  "MultiLabelSoftMarginLoss",
  "MultiMarginLoss",
  "soft_margin",
  "SoftMarginLoss",
  "squared_hinge",
  "SquaredHinge",
]
# Overlap: Dice, Tversky, Jaccard, Lovász.
__all__ += [
  "Dice",
  "dice",
  "focal_tversky",
  "FocalTversky",
  "Jaccard",
  "jaccard",
  "lovasz_hinge",
  "lovasz_softmax",
  "mcc_loss",
  "LovaszHinge",
  "LovaszSoftmax",
  "MCCLoss",
  "Tversky",
  "tversky",
]
# Boxes.
__all__ += [
  "ciou_loss",
  "CIoULoss",
  "diou_loss",
  "DIoULoss",
  "giou_loss",
  "GIoULoss",
  "iou_loss",
  "IoULoss",
]
# Embedding and metric learning.
__all__ += [
  "Circle",
  "FastAP",
  "MarginLoss",
  "MultiSimilarity",
  "TupletMargin",
  "angular_miner",
  "batch_hard_miner",
  "fast_ap",
  "margin_loss",
  "multi_similarity",
  "multi_similarity_miner",
  "pair_margin_miner",
  "triplet_margin_miner",
  "tuplet_margin",
  "circle",
  "contrastive_loss",
  "ContrastiveLoss",
  "info_nce",
  "InfoNCE",
  "lifted_struct_loss",
  "LiftedStructLoss",
  "npairs_loss",
  "NpairsLoss",
  "quadruplet_loss",
  "QuadrupletLoss",
  "supervised_contrastive",
  "SupervisedContrastive",
  "triplet_hard_loss",
  "triplet_margin_loss",
  "triplet_semihard_loss",
  "TripletHardLoss",
  "TripletMarginLoss",
  "TripletSemiHardLoss",
]
# Margin-softmax heads.
__all__ += [
  "ArcFace",
  "LargeMarginSoftmax",
  "NormalizedSoftmax",
  "ProxyAnchor",
  "ProxyNCA",
  "SoftTriple",
  "SphereFace",
  "SubCenterArcFace",
  "large_margin_softmax",
  "normalized_softmax",
  "proxy_anchor",
  "proxy_nca",
  "soft_triple",
  "sphereface",
  "subcenter_arcface",
  "arcface",
  "arcface_logits",
  "center_loss",
  "CenterLoss",
  "class_cosines",
  "CosFace",
  "cosface",
  "cosface_logits",
]
# Ranking.
__all__ += [
  "approx_ndcg",
  "ApproxNDCG",
  "ListMLE",
  "listmle",
  "ListNet",
  "listnet",
  "pairwise_hinge",
  "pairwise_logistic",
  "PairwiseHinge",
  "PairwiseLogistic",
]
# Sequence: CTC, RNN-T.
__all__ += [
  "CTC",
  "ctc",
  "RNNTLoss",
  "RNNTLossFromLogProbs",
  "rnnt_loss",
  "rnnt_loss_from_log_probs",
]
# Contrastive at scale: CLIP, SigLIP.
__all__ += [
  "clip_loss",
  "coca_loss",
  "CLIPLoss",
  "CoCaLoss",
  "distill_clip_loss",
  "DistillCLIPLoss",
  "sharded_clip_loss",
  "sharded_coca_loss",
  "sharded_distill_clip_loss",
  "sharded_siglip_loss",
  "siglip_loss",
  "SigLIPLoss",
]
# Image quality.
__all__ += [
  "Charbonnier",
  "charbonnier",
  "FeatureMatchingLoss",
  "feature_matching_loss",
  "GradientDifferenceLoss",
  "gradient_difference_loss",
  "MSSSIML1Loss",
  "MSSSIMLoss",
  "ms_ssim_l1_loss",
  "ms_ssim_loss",
  "PSNRLoss",
  "psnr_loss",
  "SSIMLoss",
  "ssim_loss",
  "TotalVariation",
  "total_variation",
]
# Class imbalance and noisy labels.
__all__ += [
  "AsymmetricLoss",
  "ClassBalancedLoss",
  "EqualizationLossV2",
  "LDAMLoss",
  "LogitAdjustedCrossentropy",
  "SeesawLoss",
  "asymmetric_loss",
  "class_balanced_loss",
  "class_balanced_weights",
  "equalization_loss_v2",
  "equalization_loss_v2_statistics",
  "ldam_loss",
  "ldam_margins",
  "logit_adjusted_crossentropy",
  "seesaw_loss",
  "ActivePassiveLoss",
  "BitemperedLogistic",
  "SymmetricCrossentropy",
  "TaylorCrossentropy",
  "active_passive_loss",
  "bitempered_logistic",
  "symmetric_crossentropy",
  "taylor_crossentropy",
]
# Distributional and survival.
__all__ += [
  "cox_ph",
  "CoxPH",
  "crps_ensemble",
  "crps_gaussian",
  "crps_logistic",
  "CRPSEnsemble",
  "CRPSGaussian",
  "CRPSLogistic",
  "discrete_survival_nll",
  "DiscreteSurvivalNLL",
  "energy_distance",
  "energy_score",
  "EnergyDistance",
  "EnergyScore",
  "evidential_regression",
  "EvidentialRegression",
  "mdn_nll",
  "MDNNLL",
  "MMD",
  "mmd",
]
# LM: fused and vocab-parallel cross-entropy, log-probs, sequences.
__all__ += [
  "count_tokens",
  "linear_cross_entropy",
  "vocab_parallel_cross_entropy",
  "vocab_parallel_linear_cross_entropy",
  "linear_log_probs",
  "vocab_parallel_log_probs",
  "group_advantages",
  "sequence_log_probs",
  "multi_token_prediction_loss",
  "SamplingRule",
  "segment_broadcast",
  "segment_reduce",
]
# LM post-training: preference, policy gradient, distillation.
__all__ += [
  "length_desensitized_logps",
  "wpo_logps",
  "cpo",
  "distillation",
  "dpo",
  "kto",
  "linear_distillation",
  "linear_topk_distillation",
  "orpo",
  "policy_gradient",
  "simpo",
  "topk_distillation",
  "vocab_parallel_linear_distillation",
]
# LM: MoE router losses.
__all__ += [
  "load_balancing_loss",
  "router_z_loss",
  "sequence_load_balancing_loss",
]
