"""Asynchronous advantage actor-critic (A3C): ``algorithm`` is the learner top to bottom; ``worker``,
``evaluator`` and ``processes`` the process plumbing; ``trainer`` the main process that owns the optimizer;
``progress`` and ``run_log`` what a run shows and writes."""
