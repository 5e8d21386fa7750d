"""TopLap in a pygame window: what ``python -m games.toplap`` opens and pixelpilot plays through its profile.

The simulation runs on a fixed schedule of 30 ticks per second (late ticks are caught up, at most 4 at a
time), whatever the frame rate. Keys: W accelerates, S brakes, A/D steer, space is turbo, Enter starts the
next race, Esc quits. SDL forgets held keys when the window loses focus.

Telemetry, one JSON datagram per tick to each 127.0.0.1:PORT: tick, episode, score, laps_done, laps, x, y,
heading, speed, turbo, index, offroad, lap_ticks, last_lap_ticks, done, keys (the logical keys held), and
track_seed.
"""

from __future__ import annotations

import os
import time

from capture.errors import DisplayError
from capture.telemetry import TelemetrySender
from games.toplap.sim import TICK_HZ, Race
from games.toplap.track import generate

MAX_CATCH_UP = 4


def run_game(seed: int, laps: int, track_per_race: bool, telemetry_ports: list[int], title: str = "TopLap",
             view: str = "north") -> int:  # fmt: skip
    """Open the window and run until it is closed; returns the process exit code."""
    if not os.environ.get("DISPLAY"):
        raise DisplayError("no display to open a window on: DISPLAY is not set")
    os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
    import pygame

    from games.toplap.render import VIEW_H, VIEW_W, draw_frame, draw_track

    bindings = {pygame.K_a: "left", pygame.K_d: "right", pygame.K_w: "up", pygame.K_s: "down",
                pygame.K_SPACE: "turbo"}  # fmt: skip
    senders = [TelemetrySender(port) for port in telemetry_ports]
    pygame.display.init()
    try:
        screen = pygame.display.set_mode((VIEW_W, VIEW_H))
        pygame.display.set_caption(title)
        episode, race_seed = 0, seed
        race = Race(generate(race_seed), laps)
        world = draw_track(race.track)
        next_tick = time.perf_counter()
        while True:
            for event in pygame.event.get():
                if event.type == pygame.QUIT or (event.type == pygame.KEYDOWN and event.key == pygame.K_ESCAPE):
                    return 0
                if event.type == pygame.KEYDOWN and event.key in (pygame.K_RETURN, pygame.K_KP_ENTER):
                    episode += 1
                    race_seed = race_seed + 1 if track_per_race else race_seed
                    race = Race(generate(race_seed), laps)
                    world = draw_track(race.track)
                    next_tick = time.perf_counter()
            pressed = pygame.key.get_pressed()
            keys = frozenset(name for code, name in bindings.items() if pressed[code])
            now = time.perf_counter()
            due = min(MAX_CATCH_UP, int((now - next_tick) * TICK_HZ) + 1) if now >= next_tick else 0
            for _ in range(due):
                race.tick(keys)
                s = race.state
                for sender in senders:
                    sender.send(tick=s.ticks, episode=episode, score=s.score, laps_done=s.laps_done, laps=laps,
                                x=s.x, y=s.y, heading=s.heading, speed=s.speed, turbo=s.turbo, index=s.index,
                                offroad=s.offroad, lap_ticks=s.lap_ticks, last_lap_ticks=s.last_lap_ticks,
                                done=race.finished, keys=sorted(keys), track_seed=race_seed)  # fmt: skip
            if due:
                next_tick = max(next_tick + due / TICK_HZ, now - 1 / TICK_HZ)
                draw_frame(screen, world, race.state, laps, race.finished, view)
                pygame.display.flip()
            time.sleep(max(0.0, next_tick - time.perf_counter()))
    finally:
        for sender in senders:
            sender.close()
        pygame.display.quit()
