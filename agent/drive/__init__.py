"""Driving sessions in a real game window: ``play`` (a pilot drives, a person may take over), ``record`` (a person
drives, every step is kept) and the lap demo."""
