"""jaxloss: differentiable loss functions for JAX.

Per-sample loss functions, a ``reduce`` transform, Keras-style loss objects
and a name registry. See the README for a tour.
"""

from typing import Any

from jaxloss import regularizers
from jaxloss._src.debug import checked
from jaxloss._src.lm.cross_entropy import linear_cross_entropy
from jaxloss._src.lm.vocab_parallel import count_tokens
from jaxloss._src.lm.vocab_parallel import vocab_parallel_cross_entropy
from jaxloss._src.lm.vocab_parallel import vocab_parallel_linear_cross_entropy
from jaxloss._src.losses.adaptive import adaptive_robust_nll
from jaxloss._src.losses.adaptive import uncertainty_weighting
from jaxloss._src.losses.boxes import CIoULoss
from jaxloss._src.losses.boxes import DIoULoss
from jaxloss._src.losses.boxes import GIoULoss
from jaxloss._src.losses.boxes import IoULoss
from jaxloss._src.losses.boxes import ciou_loss
from jaxloss._src.losses.boxes import diou_loss
from jaxloss._src.losses.boxes import giou_loss
from jaxloss._src.losses.boxes import iou_loss
from jaxloss._src.losses.contrastive import CLIPLoss
from jaxloss._src.losses.contrastive import SigLIPLoss
from jaxloss._src.losses.contrastive import clip_loss
from jaxloss._src.losses.contrastive import sharded_clip_loss
from jaxloss._src.losses.contrastive import sharded_siglip_loss
from jaxloss._src.losses.contrastive import siglip_loss
from jaxloss._src.losses.crossentropy import BinaryCrossentropy
from jaxloss._src.losses.crossentropy import BinaryFocalCrossentropy
from jaxloss._src.losses.crossentropy import CategoricalCrossentropy
from jaxloss._src.losses.crossentropy import CategoricalFocalCrossentropy
from jaxloss._src.losses.crossentropy import CategoricalGeneralizedCrossEntropy
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
from jaxloss._src.losses.crossentropy import kl_divergence
from jaxloss._src.losses.crossentropy import poisson
from jaxloss._src.losses.crossentropy import sparse_categorical_crossentropy
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
from jaxloss._src.losses.margin_softmax import ArcFace
from jaxloss._src.losses.margin_softmax import CenterLoss
from jaxloss._src.losses.margin_softmax import CosFace
from jaxloss._src.losses.margin_softmax import arcface
from jaxloss._src.losses.margin_softmax import arcface_logits
from jaxloss._src.losses.margin_softmax import center_loss
from jaxloss._src.losses.margin_softmax import class_cosines
from jaxloss._src.losses.margin_softmax import cosface
from jaxloss._src.losses.margin_softmax import cosface_logits
from jaxloss._src.losses.noisy_labels import ActivePassiveLoss
from jaxloss._src.losses.noisy_labels import BitemperedLogistic
from jaxloss._src.losses.noisy_labels import SymmetricCrossentropy
from jaxloss._src.losses.noisy_labels import TaylorCrossentropy
from jaxloss._src.losses.noisy_labels import active_passive_loss
from jaxloss._src.losses.noisy_labels import bitempered_logistic
from jaxloss._src.losses.noisy_labels import symmetric_crossentropy
from jaxloss._src.losses.noisy_labels import taylor_crossentropy
from jaxloss._src.losses.overlap import Dice
from jaxloss._src.losses.overlap import FocalTversky
from jaxloss._src.losses.overlap import Jaccard
from jaxloss._src.losses.overlap import LovaszHinge
from jaxloss._src.losses.overlap import LovaszSoftmax
from jaxloss._src.losses.overlap import Tversky
from jaxloss._src.losses.overlap import dice
from jaxloss._src.losses.overlap import focal_tversky
from jaxloss._src.losses.overlap import jaccard
from jaxloss._src.losses.overlap import lovasz_hinge
from jaxloss._src.losses.overlap import lovasz_softmax
from jaxloss._src.losses.overlap import tversky
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
from jaxloss._src.losses.sequence import CTC
from jaxloss._src.losses.sequence import ctc
from jaxloss._src.losses.survival import CoxPH
from jaxloss._src.losses.survival import DiscreteSurvivalNLL
from jaxloss._src.losses.survival import cox_ph
from jaxloss._src.losses.survival import discrete_survival_nll
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


__all__ = [
  "adaptive_robust_nll",
  "approx_ndcg",
  "ApproxNDCG",
  "ArcFace",
  "arcface",
  "arcface_logits",
  "BCE",
  "bce",
  "binary_crossentropy",
  "binary_focal_crossentropy",
  "BinaryCrossentropy",
  "BinaryFocalCrossentropy",
  "categorical_crossentropy",
  "categorical_focal_crossentropy",
  "categorical_generalized_cross_entropy",
  "categorical_hinge",
  "CategoricalCrossentropy",
  "CategoricalFocalCrossentropy",
  "CategoricalGeneralizedCrossEntropy",
  "CategoricalHinge",
  "center_loss",
  "checked",
  "CenterLoss",
  "class_cosines",
  "ciou_loss",
  "CIoULoss",
  "Circle",
  "circle",
  "class_weights_to_sample_weights",
  "combine",
  "contrastive_loss",
  "ContrastiveLoss",
  "CosFace",
  "cosface",
  "cosface_logits",
  "cosine_embedding",
  "cosine_similarity",
  "CosineEmbeddingLoss",
  "CosineSimilarity",
  "count_tokens",
  "CTC",
  "ctc",
  "deserialize",
  "Dice",
  "dice",
  "diou_loss",
  "DIoULoss",
  "fbeta_loss",
  "FBetaLoss",
  "focal_tversky",
  "FocalTversky",
  "gaussian_nll",
  "GaussianNLLLoss",
  "get",
  "giou_loss",
  "GIoULoss",
  "Hinge",
  "hinge",
  "hinge_embedding",
  "HingeEmbeddingLoss",
  "Huber",
  "huber",
  "info_nce",
  "InfoNCE",
  "iou_loss",
  "IoULoss",
  "Jaccard",
  "jaccard",
  "kl_divergence",
  "KLD",
  "kld",
  "KLDivergence",
  "kullback_leibler_divergence",
  "lifted_struct_loss",
  "LiftedStructLoss",
  "linear_cross_entropy",
  "ListMLE",
  "listmle",
  "ListNet",
  "listnet",
  "log_cosh",
  "LogCosh",
  "logcosh",
  "InputLike",
  "Loss",
  "LossFunctionWrapper",
  "lovasz_hinge",
  "lovasz_softmax",
  "LovaszHinge",
  "LovaszSoftmax",
  "MAE",
  "mae",
  "MAPE",
  "mape",
  "margin_ranking",
  "MarginRankingLoss",
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
  "multi_margin",
  "multilabel_soft_margin",
  "MultiLabelSoftMarginLoss",
  "MultiMarginLoss",
  "names",
  "npairs_loss",
  "NpairsLoss",
  "pairwise_hinge",
  "pairwise_logistic",
  "PairwiseHinge",
  "PairwiseLogistic",
  "pinball",
  "PinballLoss",
  "Poisson",
  "poisson",
  "poisson_nll",
  "PoissonNLLLoss",
  "quadruplet_loss",
  "QuadrupletLoss",
  "reduce",
  "regularizers",
  "robust_loss",
  "RobustLoss",
  "serialize",
  "sigmoid_focal_crossentropy",
  "SigmoidFocalCrossEntropy",
  "smooth_l1",
  "SmoothL1Loss",
  "soft_margin",
  "SoftMarginLoss",
  "sparse_categorical_crossentropy",
  "SparseCategoricalCrossentropy",
  "squared_hinge",
  "SquaredHinge",
  "supervised_contrastive",
  "SupervisedContrastive",
  "triplet_hard_loss",
  "triplet_margin_loss",
  "triplet_semihard_loss",
  "TripletHardLoss",
  "TripletMarginLoss",
  "TripletSemiHardLoss",
  "Tversky",
  "tversky",
  "uncertainty_weighting",
  "vocab_parallel_cross_entropy",
  "vocab_parallel_linear_cross_entropy",
  "weighted_kappa_loss",
  "WeightedKappaLoss",
  "wrap",
  "z_loss",
  "ZLoss",
  # Distributional and survival losses.
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

# Class imbalance and noisy labels (issue 16).
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

# Image quality and transducer (RNN-T) losses.
from jaxloss._src.losses.image_quality import Charbonnier  # noqa: E402
from jaxloss._src.losses.image_quality import FeatureMatchingLoss  # noqa: E402
from jaxloss._src.losses.image_quality import GradientDifferenceLoss  # noqa: E402,E501
from jaxloss._src.losses.image_quality import MSSSIMLoss  # noqa: E402
from jaxloss._src.losses.image_quality import PSNRLoss  # noqa: E402
from jaxloss._src.losses.image_quality import SSIMLoss  # noqa: E402
from jaxloss._src.losses.image_quality import TotalVariation  # noqa: E402
from jaxloss._src.losses.image_quality import charbonnier  # noqa: E402
from jaxloss._src.losses.image_quality import feature_matching_loss  # noqa: E402,E501
from jaxloss._src.losses.image_quality import gradient_difference_loss  # noqa: E402,E501
from jaxloss._src.losses.image_quality import ms_ssim_loss  # noqa: E402
from jaxloss._src.losses.image_quality import psnr_loss  # noqa: E402
from jaxloss._src.losses.image_quality import ssim_loss  # noqa: E402
from jaxloss._src.losses.image_quality import total_variation  # noqa: E402
from jaxloss._src.losses.transducer import RNNTLoss  # noqa: E402
from jaxloss._src.losses.transducer import RNNTLossFromLogProbs  # noqa: E402
from jaxloss._src.losses.transducer import rnnt_loss  # noqa: E402
from jaxloss._src.losses.transducer import rnnt_loss_from_log_probs  # noqa: E402

__all__ += [
  "Charbonnier",
  "charbonnier",
  "FeatureMatchingLoss",
  "feature_matching_loss",
  "GradientDifferenceLoss",
  "gradient_difference_loss",
  "MSSSIMLoss",
  "ms_ssim_loss",
  "PSNRLoss",
  "psnr_loss",
  "RNNTLoss",
  "RNNTLossFromLogProbs",
  "rnnt_loss",
  "rnnt_loss_from_log_probs",
  "SSIMLoss",
  "ssim_loss",
  "TotalVariation",
  "total_variation",
]

# LM post-training: fused log-probabilities, preference, policy-gradient and
# distillation losses (jaxloss._src.lm).
from jaxloss._src.lm.distillation import distillation  # noqa: E402
from jaxloss._src.lm.distillation import linear_distillation  # noqa: E402
from jaxloss._src.lm.distillation import linear_topk_distillation  # noqa: E402
from jaxloss._src.lm.distillation import topk_distillation  # noqa: E402
from jaxloss._src.lm.distillation import vocab_parallel_linear_distillation  # noqa: E402,E501
from jaxloss._src.lm.log_probs import linear_log_probs  # noqa: E402
from jaxloss._src.lm.log_probs import vocab_parallel_log_probs  # noqa: E402
from jaxloss._src.lm.policy import policy_gradient  # noqa: E402
from jaxloss._src.lm.preference import cpo  # noqa: E402
from jaxloss._src.lm.preference import dpo  # noqa: E402
from jaxloss._src.lm.preference import kto  # noqa: E402
from jaxloss._src.lm.preference import length_desensitized_logps  # noqa: E402
from jaxloss._src.lm.preference import orpo  # noqa: E402
from jaxloss._src.lm.preference import simpo  # noqa: E402
from jaxloss._src.lm.preference import wpo_logps  # noqa: E402

# LD-DPO and WPO inputs for dpo.
__all__ += ["length_desensitized_logps", "wpo_logps"]

__all__ += [
  "cpo",
  "distillation",
  "dpo",
  "kto",
  "linear_distillation",
  "linear_log_probs",
  "linear_topk_distillation",
  "orpo",
  "policy_gradient",
  "simpo",
  "topk_distillation",
  "vocab_parallel_linear_distillation",
  "vocab_parallel_log_probs",
  # Contrastive losses at scale (CLIP, SigLIP; chunked and sharded).
  "clip_loss",
  "CLIPLoss",
  "sharded_clip_loss",
  "sharded_siglip_loss",
  "siglip_loss",
  "SigLIPLoss",
]

# The input-type alias of every loss's array arguments; per-sequence sums of
# per-token values and GRPO group advantages (jaxloss._src.lm.sequences).
from jaxloss._src.lm.sequences import group_advantages  # noqa: E402
from jaxloss._src.lm.sequences import sequence_log_probs  # noqa: E402

__all__ += ["InputLike", "group_advantages", "sequence_log_probs"]
