"""Recorded demonstrations: the dataset format (the one module that imports Minari), raw frames and re-processing,
contact sheets and videos, and behaviour cloning (``pretrain``)."""
