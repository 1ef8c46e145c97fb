"""Classical satisfaction measurement methods (methodology §6): scoring, PCA and equal-weight
indices, fuzzy comprehensive evaluation, SERVQUAL/SERVPERF, Kano, loyalty segmentation."""

from csi.classical.fuzzy import (
    DEFAULT_GRADES,
    OPERATORS,
    FuzzyDegeneracyWarning,
    FuzzyResult,
    MultiLevelResult,
    fuzzy_evaluate,
    fuzzy_evaluate_levels,
    membership_matrix,
)
from csi.classical.indices import PCA_METHODS, CompositeIndex, equal_weight_index, pca_index
from csi.classical.kano import KANO_TABLE, KanoResult, kano, kano_classify
from csi.classical.loyalty import DEFAULT_LABELS, LoyaltySegments, loyalty_segments
from csi.classical.scoring import ItemScores, item_scores
from csi.classical.servqual import SERVQUAL_DIMENSIONS, ServqualResult, servqual

__all__ = [
    "DEFAULT_GRADES",
    "DEFAULT_LABELS",
    "KANO_TABLE",
    "OPERATORS",
    "PCA_METHODS",
    "SERVQUAL_DIMENSIONS",
    "CompositeIndex",
    "FuzzyDegeneracyWarning",
    "FuzzyResult",
    "ItemScores",
    "KanoResult",
    "LoyaltySegments",
    "MultiLevelResult",
    "ServqualResult",
    "equal_weight_index",
    "fuzzy_evaluate",
    "fuzzy_evaluate_levels",
    "item_scores",
    "kano",
    "kano_classify",
    "loyalty_segments",
    "membership_matrix",
    "pca_index",
    "servqual",
]
