"""Tabular learners and the seed documents' toy problems: ``learners.py`` (Q-learning, Sarsa, Sarsa(λ) on a table of
action values), ``maze.py`` (the three side by side on ``pixelpilot/GridMaze-v0``), ``markov.py`` (Markov reward and
decision processes: values from the Bellman equation next to Monte-Carlo estimates)."""
