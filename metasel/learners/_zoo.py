"""The zoo table: adding a learner is one new ``Learner(...)`` entry in ``_ENTRIES``.

Every default below is the library's own default, so ``default_params()`` reproduces what
a user gets from a bare constructor. Fixed settings that are not searched (``n_jobs=1``:
parallelism belongs to the evaluation level; iteration caps) live in the factories.
"""

from __future__ import annotations

from typing import Any

from sklearn.linear_model import LogisticRegression
from sklearn.naive_bayes import GaussianNB
from sklearn.neighbors import KNeighborsClassifier
from sklearn.svm import SVC, LinearSVC
from sklearn.tree import DecisionTreeClassifier

from metasel.learners._anytime import (
    AnytimeExtraTrees,
    AnytimeHistGradientBoosting,
    AnytimeLightGBM,
    AnytimeMLP,
    AnytimeRandomForest,
)
from metasel.learners._base import Learner
from metasel.learners._proba import MarginProbaClassifier
from metasel.learners._space import Cat, Float, Int

Params = dict[str, Any]
CLASS_WEIGHT = Cat("class_weight", [None, "balanced"], None)


def _lightgbm(p: Params, random_state: int | None) -> AnytimeLightGBM:
    return AnytimeLightGBM(
        n_estimators=p["n_estimators"], learning_rate=p["learning_rate"],
        num_leaves=p["num_leaves"], min_child_samples=p["min_child_samples"],
        subsample=p["subsample"], subsample_freq=1 if p["subsample"] < 1.0 else 0,
        colsample_bytree=p["colsample_bytree"], random_state=random_state,
        n_jobs=1, verbose=-1,
    )


#: scikit-learn's default is 0: where a class has a handful of rows its hessian is tiny, leaf
#: values blow up and ``predict_proba`` saturates to exact zeros, whose ties rank at random
#: (hypothyroid, a 2-row class, 10 s: CV 0.927, test ROC AUC 0.552; 0.999 with 0.1)
HGB_L2_REGULARIZATION = 0.1


def _hist_gradient_boosting(p: Params, random_state: int | None) -> AnytimeHistGradientBoosting:
    return AnytimeHistGradientBoosting(
        learning_rate=p["learning_rate"], max_iter=p["max_iter"],
        max_leaf_nodes=p["max_leaf_nodes"], min_samples_leaf=p["min_samples_leaf"],
        max_features=p["max_features"], l2_regularization=HGB_L2_REGULARIZATION,
        categorical_features="from_dtype", random_state=random_state,
    )


def _forest(cls: type, p: Params, random_state: int | None):
    return cls(
        n_estimators=p["n_estimators"], criterion=p["criterion"],
        max_features=p["max_features"], min_samples_leaf=p["min_samples_leaf"],
        min_samples_split=p["min_samples_split"], bootstrap=p["bootstrap"],
        class_weight=p["class_weight"], random_state=random_state, n_jobs=1,
    )


def _random_forest(p: Params, random_state: int | None) -> AnytimeRandomForest:
    return _forest(AnytimeRandomForest, p, random_state)


def _extra_trees(p: Params, random_state: int | None) -> AnytimeExtraTrees:
    return _forest(AnytimeExtraTrees, p, random_state)


def _decision_tree(p: Params, random_state: int | None) -> DecisionTreeClassifier:
    return DecisionTreeClassifier(
        criterion=p["criterion"], max_depth=p["max_depth"] if p["limit_depth"] else None,
        min_samples_leaf=p["min_samples_leaf"], min_samples_split=p["min_samples_split"],
        max_features=p["max_features"], class_weight=p["class_weight"],
        random_state=random_state,
    )


def _logistic_regression(p: Params, random_state: int | None) -> LogisticRegression:
    return LogisticRegression(C=p["C"], class_weight=p["class_weight"], max_iter=1000,
                              random_state=random_state)


def _linear_svm(p: Params, random_state: int | None) -> MarginProbaClassifier:
    svm = LinearSVC(C=p["C"], class_weight=p["class_weight"], max_iter=5000,
                    random_state=random_state)
    return MarginProbaClassifier(svm)


def _rbf_svc(p: Params, random_state: int | None) -> MarginProbaClassifier:
    gamma = p["gamma"] if p["gamma_mode"] == "value" else "scale"
    svm = SVC(kernel="rbf", C=p["C"], gamma=gamma, class_weight=p["class_weight"],
              random_state=random_state)
    return MarginProbaClassifier(svm)


def _knn(p: Params, random_state: int | None) -> KNeighborsClassifier:
    return KNeighborsClassifier(n_neighbors=p["n_neighbors"], weights=p["weights"], p=p["p"])


def _mlp(p: Params, random_state: int | None) -> AnytimeMLP:
    return AnytimeMLP(
        hidden_layer_sizes=(p["width"],) * p["n_layers"], activation=p["activation"],
        alpha=p["alpha"], learning_rate_init=p["learning_rate_init"],
        max_iter=p["max_iter"], random_state=random_state,
    )


def _gaussian_nb(p: Params, random_state: int | None) -> GaussianNB:
    return GaussianNB(var_smoothing=p["var_smoothing"])


def _forest_space(bootstrap_default: bool) -> tuple:
    return (
        Int("n_estimators", 16, 512, 100, log=True),
        Cat("criterion", ["gini", "entropy"], "gini"),
        Cat("max_features", ["sqrt", "log2", 0.25, 0.5, 0.75, 1.0], "sqrt"),
        Int("min_samples_leaf", 1, 64, 1, log=True),
        Int("min_samples_split", 2, 64, 2, log=True),
        Cat("bootstrap", [True, False], bootstrap_default),
        CLASS_WEIGHT,
    )


_ENTRIES: tuple[Learner, ...] = (
    Learner("lightgbm", (
        Int("n_estimators", 16, 1024, 100, log=True),
        Float("learning_rate", 0.005, 0.5, 0.1, log=True),
        Int("num_leaves", 4, 512, 31, log=True),
        Int("min_child_samples", 2, 128, 20, log=True),
        Float("subsample", 0.4, 1.0, 1.0),
        Float("colsample_bytree", 0.3, 1.0, 1.0),
    ), _lightgbm, "native", "LightGBM gradient-boosted trees"),
    Learner("hist_gradient_boosting", (
        Float("learning_rate", 0.005, 0.5, 0.1, log=True),
        Int("max_iter", 16, 512, 100, log=True),
        Int("max_leaf_nodes", 4, 256, 31, log=True),
        Int("min_samples_leaf", 2, 128, 20, log=True),
        Float("max_features", 0.3, 1.0, 1.0),
    ), _hist_gradient_boosting, "native", "scikit-learn histogram gradient boosting"),
    Learner("random_forest", _forest_space(True), _random_forest, "ordinal",
            "scikit-learn random forest"),
    Learner("extra_trees", _forest_space(False), _extra_trees, "ordinal",
            "scikit-learn extremely randomised trees"),
    Learner("logistic_regression", (
        Float("C", 1e-4, 1e4, 1.0, log=True),
        CLASS_WEIGHT,
    ), _logistic_regression, "onehot", "L2 logistic regression (lbfgs)"),
    Learner("linear_svm", (
        Float("C", 1e-4, 1e4, 1.0, log=True),
        CLASS_WEIGHT,
    ), _linear_svm, "onehot", "linear SVM (liblinear), margins mapped to probabilities"),
    Learner("rbf_svc", (
        Float("C", 1e-3, 1e4, 1.0, log=True),
        Cat("gamma_mode", ["scale", "value"], "scale"),
        Float("gamma", 1e-4, 10.0, 0.1, log=True, when=("gamma_mode", "value")),
        CLASS_WEIGHT,
    ), _rbf_svc, "onehot", "RBF-kernel SVM (libsvm), margins mapped to probabilities",
        max_rows=10_000),
    Learner("knn", (
        Int("n_neighbors", 1, 50, 5, log=True),
        Cat("weights", ["uniform", "distance"], "uniform"),
        Cat("p", [1, 2], 2),
    ), _knn, "onehot", "k nearest neighbours on scaled features"),
    Learner("mlp", (
        Int("n_layers", 1, 3, 1),
        Int("width", 16, 512, 100, log=True),
        Cat("activation", ["relu", "tanh"], "relu"),
        Float("alpha", 1e-7, 1.0, 1e-4, log=True),
        Float("learning_rate_init", 1e-4, 0.1, 1e-3, log=True),
    ), _mlp, "onehot", "multi-layer perceptron (adam)",
        # not searched: the epochs a trial stopped for time reached travel to its refit here,
        # as a grown forest's size does in n_estimators
        fixed=(Int("max_iter", 1, 10_000, 200),)),
    Learner("gaussian_nb", (
        Float("var_smoothing", 1e-12, 1e-1, 1e-9, log=True),
    ), _gaussian_nb, "onehot", "Gaussian naive Bayes"),
    Learner("decision_tree", (
        Cat("criterion", ["gini", "entropy"], "gini"),
        Cat("limit_depth", [False, True], False),
        Int("max_depth", 1, 32, 8, log=True, when=("limit_depth", True)),
        Int("min_samples_leaf", 1, 64, 1, log=True),
        Int("min_samples_split", 2, 64, 2, log=True),
        Cat("max_features", [None, "sqrt", "log2", 0.5], None),
        CLASS_WEIGHT,
    ), _decision_tree, "ordinal", "CART decision tree"),
)

LEARNERS: dict[str, Learner] = {entry.name: entry for entry in _ENTRIES}
