"""scikit-learn's interface to the reducers (``AutoencoderReducer``, ``VAEReducer``) and the
tables' metrics for any embedding (``score_embedding``, and scorers for ``GridSearchCV``)."""

from reducers.estimators.reducers import AutoencoderReducer, NetworkReducer, VAEReducer
from reducers.estimators.scoring import (Scores, heldout_knn_scorer, score_embedding,
                                         trustworthiness_scorer)

__all__ = ["AutoencoderReducer", "VAEReducer", "NetworkReducer", "Scores", "score_embedding",
           "heldout_knn_scorer", "trustworthiness_scorer"]
