"""Capture side: find a game window, grab its pixels, turn them into observations, read its reward."""
