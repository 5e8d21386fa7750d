"""pixelpilot's agent: environments, policies, learners, driving sessions and the ``pixelpilot`` command.

Subpackages follow the data path and depend only downwards (``make lint`` checks it):
``envs`` (games as Gymnasium environments) ← ``policy`` (checkpoints, rollouts, evaluation, the pilot) ←
``a3c`` and ``demos`` (learners, recorded demonstrations) ← ``drive`` (play, record, the lap demo) ← ``cli``.
``docs/architecture.md`` says what each one owns.
"""
