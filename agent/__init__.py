"""Learners, environments and the ``pixelpilot`` command.

Importing this package registers the environments with Gymnasium (an in-memory table, as Gymnasium's own
environments do), so ``gymnasium.make("pixelpilot/Screen-v0", profile=...)`` works after ``import agent``.
"""

import gymnasium

if "pixelpilot/Screen-v0" not in gymnasium.registry:
    gymnasium.register("pixelpilot/Screen-v0", entry_point="agent.screen_env:ScreenEnv", nondeterministic=True)
