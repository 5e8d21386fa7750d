"""DQN and its improvements as switches (Double DQN's target, the dueling network, prioritised replay): ``args.py``
its options, ``algorithm.py`` the algorithm and its run, ``presets.py`` its settings
per environment."""
