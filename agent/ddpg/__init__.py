"""DDPG, deep deterministic policy gradient for continuous actions: ``args.py`` its options, ``algorithm.py`` the
algorithm and its run, ``presets.py`` its settings per environment."""
