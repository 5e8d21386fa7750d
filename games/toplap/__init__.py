"""TopLap: a small top-down racing game used only as a test bed that nothing in pixelpilot was tuned to.

It differs from NeonRace where a new user's game would: a top-down view that scrolls with the car (``--view
north``: the world stays upright and the car turns, so which way it points is a few pixels of sprite; ``--view
chase``: the world turns and the car always points up), a player sprite a few pixels long that differs from the
road by hue alone (the seed recipe's channel mean makes it the
road's grey), WASD with space for turbo, a seven-segment score drawn top left, a pygame window. Its telemetry
(the score, laps, the car's pose) is what the scripted driver, the label-free glyph learning and the
benchmark's lap count read; pixelpilot itself drives it from pixels through ``games/profiles/toplap.toml``.

Run it with ``python -m games.toplap`` (pygame comes with the ``dev`` extra).
"""
