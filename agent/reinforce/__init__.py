"""REINFORCE (Monte-Carlo policy gradient, with or without a baseline): ``args.py`` its options, ``algorithm.py`` the
algorithm."""
