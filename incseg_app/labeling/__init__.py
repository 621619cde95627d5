"""Pseudo-masks from image-level tags: class-aware maps (CLIP, or co-segmentation of the tagged set), class-agnostic
refinement (SAM or superpixels), fusion into labels + confidence, and click-to-refine."""
from .clip_scorer import ClipScorer
from .fusion import fuse
from .labeler import PseudoLabeler, build_labeler
from .protocols import ClassMapSource, Click, PseudoMask, Refiner, TaggedClass
from .sam_refiner import SamRefiner
from .set_labeler import SetLabeler
from .superpixels import SuperpixelRefiner
from .weights import describe_weights

__all__ = [
    "ClassMapSource", "Click", "ClipScorer", "PseudoLabeler", "PseudoMask", "Refiner", "SamRefiner",
    "SetLabeler", "SuperpixelRefiner", "TaggedClass", "build_labeler", "describe_weights", "fuse",
]
