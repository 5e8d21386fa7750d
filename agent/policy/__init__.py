"""Trained policies as data and in use: the checkpoint format, rollouts and evaluation, the pilot that drives."""
