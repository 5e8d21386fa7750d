"""TopLap's pictures, drawn with pygame: the track once per race, then each frame a view that follows the car.

Colours are chosen so that the car differs from the road by hue alone: its channel mean is the road's grey
(the seed recipe's grey makes it vanish on the road), its luma is 4 levels off, its red channel 70 above the
road's. The score is drawn top left in seven-segment digits on a black plate, nothing else in that box.
"""

from __future__ import annotations

import math

import numpy as np
import pygame

from games.toplap.sim import CarState
from games.toplap.track import ROAD_HALF_WIDTH, WORLD_H, WORLD_W, Track

VIEW_W, VIEW_H = 640, 480
GRASS = (70, 150, 70)
GRASS_DARK = (55, 125, 55)
ROAD = (120, 120, 120)
CAR = (190, 85, 85)  # mean 120: the road's grey in the seed recipe
CAR_LENGTH, CAR_WIDTH = 14, 8
SCORE_BOX = pygame.Rect(0, 0, 132, 46)  # the profile's reward.region
INK = (255, 190, 40)
DIGIT_W, DIGIT_H, DIGIT_GAP, SEGMENT = 16, 30, 8, 4

# Seven segments as (x0, y0, x1, y1) in a DIGIT_W x DIGIT_H cell: a, b, c, d, e, f, g.
_SEGMENTS = {
    "a": (0, 0, 1, 0), "b": (1, 0, 1, 0.5), "c": (1, 0.5, 1, 1), "d": (0, 1, 1, 1),
    "e": (0, 0.5, 0, 1), "f": (0, 0, 0, 0.5), "g": (0, 0.5, 1, 0.5),
}  # fmt: skip
_DIGITS = {
    "0": "abcdef", "1": "bc", "2": "abged", "3": "abgcd", "4": "fgbc",
    "5": "afgcd", "6": "afgedc", "7": "abc", "8": "abcdefg", "9": "abcdfg",
}  # fmt: skip


def draw_track(track: Track) -> pygame.Surface:
    """The whole world of ``track``: grass with darker tufts, the road, a chequered start line."""
    world = pygame.Surface((WORLD_W, WORLD_H))
    world.fill(GRASS)
    rng = np.random.default_rng(track.seed)
    for x, y, r in zip(rng.uniform(0, WORLD_W, 900), rng.uniform(0, WORLD_H, 900), rng.uniform(3, 9, 900), strict=True):
        pygame.draw.circle(world, GRASS_DARK, (float(x), float(y)), float(r))
    for x, y in track.points:
        pygame.draw.circle(world, ROAD, (float(x), float(y)), ROAD_HALF_WIDTH)
    (x0, y0), h = track.points[0], float(track.headings[0])
    nx, ny = -math.sin(h), math.cos(h)  # across the road
    squares = 8
    side = 2 * ROAD_HALF_WIDTH / squares
    for i in range(squares):
        for row in range(2):
            along = (row - 1) * side
            cx = x0 + nx * (-ROAD_HALF_WIDTH + (i + 0.5) * side) + math.cos(h) * (along + side / 2)
            cy = y0 + ny * (-ROAD_HALF_WIDTH + (i + 0.5) * side) + math.sin(h) * (along + side / 2)
            colour = (235, 235, 235) if (i + row) % 2 else (20, 20, 20)
            pygame.draw.rect(world, colour, pygame.Rect(cx - side / 2, cy - side / 2, side, side))
    return world


def _car_polygon(cx: float, cy: float, heading: float) -> list[tuple[float, float]]:
    c, s = math.cos(heading), math.sin(heading)
    corners = [(CAR_LENGTH / 2, CAR_WIDTH / 2), (CAR_LENGTH / 2, -CAR_WIDTH / 2),
               (-CAR_LENGTH / 2, -CAR_WIDTH / 2), (-CAR_LENGTH / 2, CAR_WIDTH / 2)]  # fmt: skip
    return [(cx + a * c - b * s, cy + a * s + b * c) for a, b in corners]


def draw_digits(surface: pygame.Surface, text: str, left: int, top: int) -> None:
    """``text`` (digits only) in seven-segment glyphs, each segment a bevelled bar."""
    for i, char in enumerate(text):
        x = float(left + i * (DIGIT_W + DIGIT_GAP))
        for name in _DIGITS[char]:
            x0, y0, x1, y1 = _SEGMENTS[name]
            ax, ay = x + x0 * DIGIT_W, top + y0 * DIGIT_H
            bx, by = x + x1 * DIGIT_W, top + y1 * DIGIT_H
            half = SEGMENT / 2
            if ay == by:  # horizontal: a hexagon with pointed ends, short of the corners
                ax, bx = ax + half + 1, bx - half - 1
                points = [(ax - half, ay), (ax, ay - half), (bx, ay - half), (bx + half, ay), (bx, ay + half),
                          (ax, ay + half)]  # fmt: skip
            else:
                ay, by = ay + half + 1, by - half - 1
                points = [(ax, ay - half), (ax + half, ay), (ax + half, by), (ax, by + half), (ax - half, by),
                          (ax - half, ay)]  # fmt: skip
            pygame.draw.polygon(surface, INK, points)


VIEWS = ("north", "chase")
"""north: the world stays upright and the car turns; chase: the world turns so that the car always points up"""
_SIDE = int(math.hypot(VIEW_W, VIEW_H)) + 2  # a square that covers the view at any angle


def draw_frame(screen: pygame.Surface, world: pygame.Surface, car: CarState, laps: int, finished: bool,
               view: str = "north") -> None:  # fmt: skip
    """The view centred on the car, the score top left, laps done top right, the turbo meter bottom left."""
    screen.fill(GRASS_DARK)  # beyond the world's edge
    if view == "chase":
        square = pygame.Surface((_SIDE, _SIDE))
        square.fill(GRASS_DARK)
        square.blit(world, (_SIDE / 2 - car.x, _SIDE / 2 - car.y))
        turned = pygame.transform.rotate(square, math.degrees(car.heading) + 90)  # heading -pi/2 is up
        screen.blit(turned, (VIEW_W / 2 - turned.get_width() / 2, VIEW_H / 2 - turned.get_height() / 2))
        pygame.draw.polygon(screen, CAR, _car_polygon(VIEW_W / 2, VIEW_H / 2, -math.pi / 2))
    elif view == "north":
        screen.blit(world, (VIEW_W / 2 - car.x, VIEW_H / 2 - car.y))
        pygame.draw.polygon(screen, CAR, _car_polygon(VIEW_W / 2, VIEW_H / 2, car.heading))
    else:
        raise ValueError(f"view must be one of {VIEWS}, got {view!r}")
    pygame.draw.rect(screen, (0, 0, 0), SCORE_BOX)
    draw_digits(screen, str(car.score), 10, 8)
    for lap in range(laps):
        rect = pygame.Rect(VIEW_W - 24 * (laps - lap), 10, 16, 16)
        pygame.draw.rect(screen, (240, 240, 240), rect, 0 if lap < car.laps_done else 2)
    pygame.draw.rect(screen, (0, 0, 0), pygame.Rect(8, VIEW_H - 20, 104, 12))
    pygame.draw.rect(screen, (80, 200, 255), pygame.Rect(10, VIEW_H - 18, int(100 * car.turbo), 8))
    if finished:  # a chequered banner; Enter starts the next race
        for i in range(16):
            colour = (235, 235, 235) if i % 2 else (20, 20, 20)
            pygame.draw.rect(screen, colour, pygame.Rect(VIEW_W / 2 - 160 + 20 * i, VIEW_H / 2 - 60, 20, 20))
