"""jaxloss: differentiable loss functions for JAX.

Per-sample loss functions, a ``reduce`` transform, Keras-style loss objects
and a name registry. See the README for a tour.
"""

from jaxloss._src.losses.hinge import CategoricalHinge
from jaxloss._src.losses.hinge import Hinge
from jaxloss._src.losses.hinge import SquaredHinge
from jaxloss._src.losses.hinge import categorical_hinge
from jaxloss._src.losses.hinge import hinge
from jaxloss._src.losses.hinge import squared_hinge
from jaxloss._src.losses.metric_learning import Circle
from jaxloss._src.losses.metric_learning import circle
from jaxloss._src.losses.probabilistic import BinaryCrossentropy
from jaxloss._src.losses.probabilistic import BinaryFocalCrossentropy
from jaxloss._src.losses.probabilistic import CategoricalCrossentropy
from jaxloss._src.losses.probabilistic import CategoricalFocalCrossentropy
from jaxloss._src.losses.probabilistic import CategoricalGeneralizedCrossEntropy
from jaxloss._src.losses.probabilistic import KLDivergence
from jaxloss._src.losses.probabilistic import Poisson
from jaxloss._src.losses.probabilistic import SparseCategoricalCrossentropy
from jaxloss._src.losses.probabilistic import binary_crossentropy
from jaxloss._src.losses.probabilistic import binary_focal_crossentropy
from jaxloss._src.losses.probabilistic import categorical_crossentropy
from jaxloss._src.losses.probabilistic import categorical_focal_crossentropy
from jaxloss._src.losses.probabilistic import (
    categorical_generalized_cross_entropy,
)
from jaxloss._src.losses.probabilistic import kl_divergence
from jaxloss._src.losses.probabilistic import poisson
from jaxloss._src.losses.probabilistic import sparse_categorical_crossentropy
from jaxloss._src.losses.regression import CosineSimilarity
from jaxloss._src.losses.regression import Huber
from jaxloss._src.losses.regression import LogCosh
from jaxloss._src.losses.regression import MeanAbsoluteError
from jaxloss._src.losses.regression import MeanAbsolutePercentageError
from jaxloss._src.losses.regression import MeanSquaredError
from jaxloss._src.losses.regression import MeanSquaredLogarithmicError
from jaxloss._src.losses.regression import cosine_similarity
from jaxloss._src.losses.regression import huber
from jaxloss._src.losses.regression import log_cosh
from jaxloss._src.losses.regression import mean_absolute_error
from jaxloss._src.losses.regression import mean_absolute_percentage_error
from jaxloss._src.losses.regression import mean_squared_error
from jaxloss._src.losses.regression import mean_squared_logarithmic_error
from jaxloss._src.losses.segmentation import Dice
from jaxloss._src.losses.segmentation import Tversky
from jaxloss._src.losses.segmentation import dice
from jaxloss._src.losses.segmentation import tversky
from jaxloss._src.losses.sequence import CTC
from jaxloss._src.losses.sequence import ctc
from jaxloss._src.objects import Loss
from jaxloss._src.objects import LossFunctionWrapper
from jaxloss._src.objects import deserialize
from jaxloss._src.objects import get
from jaxloss._src.objects import names
from jaxloss._src.objects import serialize
from jaxloss._src.objects import wrap
from jaxloss._src.reduction import class_weights_to_sample_weights
from jaxloss._src.reduction import reduce

# Keras's short aliases, as module attributes too.
mse = MSE = mean_squared_error
mae = MAE = mean_absolute_error
mape = MAPE = mean_absolute_percentage_error
msle = MSLE = mean_squared_logarithmic_error
kld = KLD = kullback_leibler_divergence = kl_divergence
bce = BCE = binary_crossentropy
logcosh = log_cosh

__version__ = "0.1.0"

__all__ = [
    "BCE", "CTC", "CategoricalCrossentropy", "CategoricalFocalCrossentropy",
    "CategoricalGeneralizedCrossEntropy", "CategoricalHinge", "Circle",
    "CosineSimilarity", "Dice", "Hinge", "Huber", "KLD", "KLDivergence",
    "LogCosh", "Loss", "LossFunctionWrapper", "MAE", "MAPE", "MSE", "MSLE",
    "MeanAbsoluteError", "MeanAbsolutePercentageError", "MeanSquaredError",
    "MeanSquaredLogarithmicError", "Poisson", "SparseCategoricalCrossentropy",
    "SquaredHinge", "Tversky", "BinaryCrossentropy", "BinaryFocalCrossentropy",
    "bce", "binary_crossentropy", "binary_focal_crossentropy",
    "categorical_crossentropy", "categorical_focal_crossentropy",
    "categorical_generalized_cross_entropy", "categorical_hinge", "circle",
    "class_weights_to_sample_weights", "cosine_similarity", "ctc",
    "deserialize", "dice", "get", "hinge", "huber", "kl_divergence", "kld",
    "kullback_leibler_divergence", "log_cosh", "logcosh", "mae", "mape",
    "mean_absolute_error", "mean_absolute_percentage_error",
    "mean_squared_error", "mean_squared_logarithmic_error", "mse", "msle",
    "names", "poisson", "reduce", "serialize", "sparse_categorical_crossentropy",
    "squared_hinge", "tversky", "wrap",
]
