"""Games as Gymnasium environments: profiles, launching, ``pixelpilot/Screen-v0`` (a real window),
``pixelpilot/NeonRace-v0`` (the bundled game in-process), wrappers and lap accounting; and
``pixelpilot/GridMaze-v0``, the seed documents' maze for tabular learners, and ``pixelpilot/DiscretePendulum-v1``,
Pendulum with a few torques for DQN.

Importing this package registers the environments with Gymnasium (an in-memory table, as Gymnasium's own
environments do): after ``import agent.envs``, or with the module-qualified id that imports it,
``gymnasium.make("agent.envs:pixelpilot/NeonRace-v0")``.
"""

import gymnasium

SCREEN_ENV = "pixelpilot/Screen-v0"
NEONRACE_ENV = "pixelpilot/NeonRace-v0"
GRID_MAZE_ENV = "pixelpilot/GridMaze-v0"
DISCRETE_PENDULUM_ENV = "pixelpilot/DiscretePendulum-v1"

if SCREEN_ENV not in gymnasium.registry:
    gymnasium.register(SCREEN_ENV, entry_point="agent.envs.screen:ScreenEnv", nondeterministic=True)
if NEONRACE_ENV not in gymnasium.registry:
    gymnasium.register(NEONRACE_ENV, entry_point="agent.envs.neonrace:NeonRaceEnv", max_episode_steps=2000)
if GRID_MAZE_ENV not in gymnasium.registry:
    gymnasium.register(GRID_MAZE_ENV, entry_point="agent.envs.grid_maze:GridMaze", max_episode_steps=1000)
if DISCRETE_PENDULUM_ENV not in gymnasium.registry:
    gymnasium.register(DISCRETE_PENDULUM_ENV, entry_point="agent.envs.discrete:discrete_pendulum")
