"""Learners, environments and the ``pixelpilot`` command.

Importing this package registers the environments with Gymnasium (an in-memory table, as Gymnasium's own
environments do): after ``import agent``, or with the module-qualified id that imports it,
``gymnasium.make("agent:pixelpilot/NeonRace-v0")``.
"""

import gymnasium

if "pixelpilot/Screen-v0" not in gymnasium.registry:
    gymnasium.register("pixelpilot/Screen-v0", entry_point="agent.screen_env:ScreenEnv", nondeterministic=True)
if "pixelpilot/NeonRace-v0" not in gymnasium.registry:
    gymnasium.register("pixelpilot/NeonRace-v0", entry_point="agent.neonrace_env:NeonRaceEnv", max_episode_steps=2000)
