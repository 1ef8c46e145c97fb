"""Quality criteria of a fitted model: reliability, validity, collinearity, effect sizes, fit.

Each criterion is a function of a :class:`~csi.results.fit.FitResult` returning
a labelled table; the formulas are pure batched kernels in
:mod:`csi.core.quality` and :mod:`csi.core.plsc`.  :func:`assess` gathers them
all in an :class:`Assessment`, optionally with HTMT_inference
(:func:`htmt_bootstrap`) and PLSpredict (:func:`plspredict`).
"""

from csi.quality.assessment import Assessment, assess
from csi.quality.bollen_stine import bollen_stine
from csi.quality.descriptives import item_descriptives
from csi.quality.htmt_inference import HTMTBootstrap, htmt_bootstrap
from csi.quality.model_fit import implied, model_fit, srmr
from csi.quality.plspredict import Predictions, cv_predictions, fold_labels, plspredict
from csi.quality.reliability import reliability
from csi.quality.structural import f_squared, information_criteria, vif
from csi.quality.validity import fornell_larcker, htmt

__all__ = [
    "Assessment",
    "HTMTBootstrap",
    "Predictions",
    "assess",
    "bollen_stine",
    "cv_predictions",
    "f_squared",
    "fold_labels",
    "fornell_larcker",
    "htmt",
    "htmt_bootstrap",
    "implied",
    "information_criteria",
    "item_descriptives",
    "plspredict",
    "reliability",
    "srmr",
    "model_fit",
    "vif",
]
