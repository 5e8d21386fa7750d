"""One-step actor-critic (a TD(0) critic): ``args.py`` its options, ``algorithm.py`` the algorithm."""
