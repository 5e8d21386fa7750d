"""Reading a training's evaluations as they come, for the two failures a return curve hides: a policy that sits on
one action (blind to the picture: on NeonRace, up+x on every step still finishes laps), and a driver that loses the
laps it had learned to finish."""

from __future__ import annotations

from dataclasses import dataclass, field

from agent.policy.evaluation import EvalPoint

ONE_ACTION = 0.9
"""an evaluation where one action takes more than this share of the choices looks blind"""
LAPS_REACHED = 0.9
"""lap completion counts as reached from this share of episodes on, by a policy that is not blind: holding up+x
finishes 92% of NeonRace's laps, so a run's first evaluations would otherwise "reach" it and every run that learns
to steer would then seem to unlearn it"""


@dataclass
class EvalWatch:
    """Say what went wrong, once per event: one action above :data:`ONE_ACTION` of the greedy choices at two
    evaluations in a row; lap completion falling below :data:`LAPS_REACHED` after an evaluation of a policy that
    is not blind had reached it."""

    action_names: list[str]
    one_action: float = ONE_ACTION
    laps_reached: float = LAPS_REACHED
    _blind: list[EvalPoint] = field(default_factory=list)
    _reached: EvalPoint | None = None
    _fell: bool = False

    def see(self, point: EvalPoint) -> list[str]:
        """The warnings ``point`` raises (the next evaluation of the run)."""
        warnings = []
        shares = point.action_shares or ()
        blind = bool(shares) and max(shares) > self.one_action
        if blind:
            self._blind.append(point)
            if len(self._blind) == 2:
                top = max(range(len(shares)), key=shares.__getitem__)
                name = self.action_names[top] if top < len(self.action_names) else str(top)
                warnings.append(
                    f"{name} took {shares[top]:.0%} of the evaluation's choices at {self._blind[0].steps:,} and "
                    f"{point.steps:,} steps: the policy looks blind to what it sees (one action whatever the picture)"
                )
        else:
            self._blind.clear()
        if point.laps is not None:
            if self._reached is not None and point.laps < self.laps_reached and not self._fell:
                warnings.append(
                    f"lap completion fell to {point.laps:.0%} at {point.steps:,} steps, after "
                    f"{self._reached.laps or 0:.0%} at {self._reached.steps:,}: the policy unlearned what it could do"
                )
                self._fell = True
            if point.laps >= self.laps_reached and not blind:
                self._reached, self._fell = point, False
        return warnings
