"""Segmentation models: encoders, the class-token decoder, and the builder."""
from .build import ENCODER_BUILDERS, build_model
from .decoder import ClassTokenDecoder
from .encoders.base import Encoder
from .outputs import SegOutput
from .segmenter import Segmenter

__all__ = ["ENCODER_BUILDERS", "ClassTokenDecoder", "Encoder", "SegOutput", "Segmenter", "build_model"]
