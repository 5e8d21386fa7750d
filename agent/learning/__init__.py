"""What every learner shares: the options every run has, rolling out and the returns of a rollout, the run's files
and bookkeeping (checkpoints, evaluations, progress for the panel), and how a run meets Ctrl-C and SIGTERM."""
