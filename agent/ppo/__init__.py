"""PPO (clipped): ``args.py`` its options, ``algorithm.py`` the algorithm and its run, ``presets.py`` its settings
per environment."""
