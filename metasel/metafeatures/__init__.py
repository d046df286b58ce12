"""Meta-features of a classification dataset, named and defined as OpenML's data qualities.

``extract_metafeatures(dataset)`` returns one float per entry of ``METAFEATURES``; see
docs/metafeatures.md for every definition and for where values can differ from OpenML's.
"""

from metasel.metafeatures._extract import extract_landmarkers, extract_metafeatures
from metasel.metafeatures._registry import METAFEATURES, MetaFeature

__all__ = ["METAFEATURES", "MetaFeature", "extract_landmarkers", "extract_metafeatures"]
