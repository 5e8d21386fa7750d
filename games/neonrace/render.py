"""Pseudo-3D rendering of a NeonRace state into an RGB frame of any size.

Geometry is resolution-independent: the same state rendered at 800x500 (the window) and at 200x128 (the
in-process environment, which needs no downscaling) samples the same continuous picture at each pixel's
centre, so the window's capture, once preprocessed, matches the in-process observation.

The road is drawn per screen row, vectorised: segments are projected front to back, each row belongs to
the nearest segment whose far edge lies above it (which also hides the road behind a crest), and the road's
centre and width in a row are interpolated within that segment.
"""

from __future__ import annotations

import numpy as np

from games.neonrace.font import GLYPH_H, draw_text, text_width
from games.neonrace.sim import MAX_SPEED, PLAYER_Z, Game, GameState
from games.neonrace.track import LANES, ROAD_WIDTH, RUMBLE_LENGTH, SEGMENT_LENGTH

CAMERA_HEIGHT = 1000.0
CAMERA_DEPTH = PLAYER_Z / CAMERA_HEIGHT  # 1 / tan(field of view / 2)
DRAW_DISTANCE = 200  # segments
RIVAL_WIDTH = 0.45  # drawn width in road half-widths

# Palette, indexed [light band][class]; classes: ground, rumble, road, lane marker.
PALETTE = np.array(
    [
        [(6, 2, 22), (255, 40, 200), (38, 36, 60), (38, 36, 60)],
        [(14, 4, 40), (20, 230, 255), (48, 46, 72), (230, 250, 255)],
    ],
    dtype=np.uint8,
).reshape(8, 3)
SKY_TOP, SKY_HORIZON = np.array((4, 0, 16)), np.array((70, 10, 100))
SKYLINE, SKYLINE_EDGE = (22, 8, 48), (255, 60, 220)
RIVAL_BODY, RIVAL_EDGE, TAIL_LIGHT = (30, 20, 50), (255, 210, 40), (255, 40, 40)
PLAYER_BODY, PLAYER_EDGE = (10, 40, 60), (40, 255, 255)
HUD, HUD_DIM = (240, 255, 255), (120, 120, 160)


def _skyline(width: int, height: int) -> np.ndarray:
    """A city skyline silhouette, two screens wide, as the height (in rows above the horizon) per column."""
    rng = np.random.default_rng(7)  # fixed: the background is part of the game's look, not of the track
    heights = np.zeros(2 * width)
    x = 0.0
    while x < 2.0:
        w = rng.uniform(0.02, 0.07)
        h = rng.uniform(0.03, 0.16)
        heights[int(x * width) : int((x + w) * width)] = h * height
        x += w + rng.uniform(0.0, 0.02)
    return heights


class Renderer:
    """Renders states of one game at one resolution; keeps per-resolution precomputations."""

    def __init__(self, game: Game, width: int, height: int) -> None:
        if width < 32 or height < 32:
            raise ValueError(f"frame must be at least 32x32, got {width}x{height}")
        self.game = game
        self.width, self.height = width, height
        self.cols = np.arange(width) + 0.5
        self.rows = np.arange(height) + 0.5
        self.scale = max(1, round(height / 128))  # HUD pixel size: 1 at 128 rows, 4 at 500
        self.cols32 = self.cols.astype(np.float32)
        self.background = self._background_strip()

    # -- background -------------------------------------------------------------------------------------
    def _background_strip(self) -> np.ndarray:
        """Sky and skyline, three screens wide (two repeating ones plus one to slice across the seam)."""
        width, height = self.width, self.height
        t = np.clip(self.rows / (height / 2), 0, 1)[:, None]
        sky = (SKY_TOP * (1 - t) + SKY_HORIZON * t).astype(np.uint8)
        strip = np.broadcast_to(sky[:, None, :], (height, 2 * width, 3)).copy()
        heights = _skyline(width, height)[None, :]
        above = (height / 2 - self.rows)[:, None]  # rows above the horizon
        strip[(above > 0) & (above < heights)] = SKYLINE
        strip[(above > 0) & (np.abs(above - heights) < self.scale / 2 + 0.5) & (heights > 0)] = SKYLINE_EDGE
        return np.concatenate([strip, strip[:, :width]], axis=1)

    def _background(self, state: GameState) -> np.ndarray:
        shift = int(state.sky * 2 * self.width)
        return self.background[:, shift : shift + self.width].copy()

    # -- road -------------------------------------------------------------------------------------------
    def _project(self, state: GameState) -> dict[str, np.ndarray]:
        track = self.game.track
        w, h = self.width, self.height
        base = int(state.z // SEGMENT_LENGTH)
        percent = (state.z % SEGMENT_LENGTH) / SEGMENT_LENGTH
        n = np.arange(DRAW_DISTANCE)
        seg = (base + n) % track.n
        curve = track.curve[seg]
        dx = -curve[0] * percent + np.concatenate(([0.0], np.cumsum(curve[:-1])))
        x_near = np.concatenate(([0.0], np.cumsum(dx[:-1])))
        x_far = x_near + dx
        z_near = (n - percent) * SEGMENT_LENGTH
        z_far = z_near + SEGMENT_LENGTH
        player_z = self.game.player_z()
        player_seg = int(player_z // SEGMENT_LENGTH) % track.n
        frac = (player_z % SEGMENT_LENGTH) / SEGMENT_LENGTH
        player_y = track.height[player_seg] + (track.height[player_seg + 1] - track.height[player_seg]) * frac
        camera_y = CAMERA_HEIGHT + player_y
        camera_x = state.x * ROAD_WIDTH

        def project(x_shift: np.ndarray, y: np.ndarray, z: np.ndarray) -> tuple[np.ndarray, ...]:
            scale = CAMERA_DEPTH / np.maximum(z, 1e-6)
            sx = w / 2 + scale * (x_shift - camera_x) * w / 2
            sy = h / 2 - scale * (y - camera_y) * h / 2
            return sx, sy, scale * ROAD_WIDTH * w / 2

        xn, yn, wn = project(x_near, track.height[seg], z_near)
        xf, yf, wf = project(x_far, track.height[seg + 1], z_far)
        valid = (z_near > CAMERA_DEPTH) & (yf < yn)
        yf_valid = np.where(valid, yf, np.inf)
        clip = np.minimum.accumulate(np.concatenate(([float(h)], yf_valid)))  # clip[k]: top of road drawn by 0..k-1
        return {"seg": seg, "xn": xn, "yn": yn, "wn": wn, "xf": xf, "yf": yf, "wf": wf, "valid": valid,
                "clip": clip, "z_near": z_near, "x_near": x_near, "dx": dx, "camera_x": camera_x,
                "camera_y": camera_y}  # fmt: skip

    def _road(self, image: np.ndarray, p: dict[str, np.ndarray]) -> None:
        clip_after = p["clip"][1:]  # non-increasing: the top of the road once segments 0..k are drawn
        # Row y belongs to the first segment k whose drawn top reaches it: clip_after[k] <= y.
        covering = np.searchsorted(-clip_after, -self.rows, side="left")
        rows = np.flatnonzero(covering < DRAW_DISTANCE)
        if len(rows) == 0:
            return
        k = covering[rows]
        yc = self.rows[rows]
        span = p["yn"][k] - p["yf"][k]
        t = np.clip((p["yn"][k] - yc) / span, 0.0, 1.0)
        center = (p["xn"][k] + t * (p["xf"][k] - p["xn"][k])).astype(np.float32)[:, None]
        half = (p["wn"][k] + t * (p["wf"][k] - p["wn"][k])).astype(np.float32)[:, None]
        light = ((p["seg"][k] // RUMBLE_LENGTH) % 2)[:, None]
        d = np.abs(self.cols32[None, :] - center)
        on_road = d < half
        # class: 0 ground, 1 rumble, 2 road, 3 lane marker (on light bands only)
        cls = on_road.astype(np.intp) + (d < half * np.float32(7 / 6))
        cls += on_road & (light == 1) & (np.abs(d - half * np.float32((LANES - 2) / 3)) < half * np.float32(1 / 32))
        cls += light * 4
        if rows[-1] - rows[0] + 1 == len(rows):  # usually one band from the horizon down: write in place
            np.take(PALETTE, cls, axis=0, out=image[rows[0] : rows[-1] + 1])
        else:
            image[rows] = np.take(PALETTE, cls, axis=0)

    # -- sprites ----------------------------------------------------------------------------------------
    def _rivals(self, image: np.ndarray, state: GameState, p: dict[str, np.ndarray]) -> None:
        track = self.game.track
        r = state.rivals
        if len(r.z) == 0:
            return
        rel = (r.z - state.z) % track.length  # distance in front of the camera
        order = np.argsort(-rel)  # far to near
        for i in order:
            z = rel[i]
            n = int((z + (state.z % SEGMENT_LENGTH)) // SEGMENT_LENGTH)
            if z <= CAMERA_DEPTH * 100 or n >= DRAW_DISTANCE or not p["valid"][n]:
                continue
            frac = (z - p["z_near"][n]) / SEGMENT_LENGTH
            seg = p["seg"][n]
            y_world = track.height[seg] + (track.height[seg + 1] - track.height[seg]) * frac
            x_shift = p["x_near"][n] + p["dx"][n] * frac
            scale = CAMERA_DEPTH / z
            sx = self.width / 2 + scale * (x_shift + r.x[i] * ROAD_WIDTH - p["camera_x"]) * self.width / 2
            sy = self.height / 2 - scale * (y_world - p["camera_y"]) * self.height / 2
            half_w = scale * ROAD_WIDTH * RIVAL_WIDTH * self.width / 4
            car_h = half_w * 1.1
            bottom = min(sy, p["clip"][n])  # a crest in front hides the lower part
            self._box(image, sx - half_w, sy - car_h, sx + half_w, bottom, RIVAL_BODY, RIVAL_EDGE, half_w / 6)
            light_w, light_top = half_w / 3, sy - car_h * 0.55
            light_bottom = min(bottom, light_top + car_h / 5)
            for left in (sx - half_w * 0.8, sx + half_w * 0.8 - light_w):
                self._box(image, left, light_top, left + light_w, light_bottom, TAIL_LIGHT)

    def _box(
        self,
        image: np.ndarray,
        x0: float,
        y0: float,
        x1: float,
        y1: float,
        fill: tuple[int, int, int],
        edge: tuple[int, int, int] | None = None,
        edge_width: float = 0.0,
    ) -> None:
        """Fill the pixels whose centres lie inside the box (the same rule at every resolution)."""
        c0, c1 = max(0, int(np.ceil(x0 - 0.5))), min(self.width, int(np.ceil(x1 - 0.5)))
        r0, r1 = max(0, int(np.ceil(y0 - 0.5))), min(self.height, int(np.ceil(y1 - 0.5)))
        if c0 >= c1 or r0 >= r1:
            return
        if edge is None or edge_width <= 0:
            image[r0:r1, c0:c1] = fill
            return
        image[r0:r1, c0:c1] = edge
        self._box(image, x0 + edge_width, y0 + edge_width, x1 - edge_width, y1, fill)

    def _player(self, image: np.ndarray, state: GameState) -> None:
        w, h = self.width, self.height
        cx = w / 2 + state.steer * w * 0.01
        half_w, car_h, bottom = w * 0.085, h * 0.1, h * 0.97
        self._box(image, cx - half_w, bottom - car_h, cx + half_w, bottom, PLAYER_BODY, PLAYER_EDGE, w * 0.008)
        self._box(image, cx - half_w * 0.6, bottom - car_h * 1.35, cx + half_w * 0.6, bottom - car_h * 0.9,
                  PLAYER_BODY, PLAYER_EDGE, w * 0.006)  # fmt: skip
        glow = min(1.0, state.speed / MAX_SPEED)
        lights = (255, int(40 + 160 * glow), 40)
        self._box(image, cx - half_w * 0.85, bottom - car_h * 0.6, cx - half_w * 0.45, bottom - car_h * 0.4, lights)
        self._box(image, cx + half_w * 0.45, bottom - car_h * 0.6, cx + half_w * 0.85, bottom - car_h * 0.4, lights)

    # -- HUD --------------------------------------------------------------------------------------------
    def _hud(self, image: np.ndarray, state: GameState) -> None:
        s, w, h = self.scale, self.width, self.height
        top = round(h * 0.03)
        draw_text(image, str(state.score), round(w * 0.02), top, s, HUD)
        speed = f"{round(state.speed / MAX_SPEED * 200):d} KMH"
        draw_text(image, speed, w - round(w * 0.02) - text_width(speed, s), top, s, HUD)
        lap = f"LAP {state.lap}/{self.game.laps}"
        draw_text(image, lap, (w - text_width(lap, s)) // 2, top, s, HUD)
        clock = f"{state.lap_time:.1f}"
        draw_text(image, clock, (w - text_width(clock, s)) // 2, top + (GLYPH_H + 2) * s, s, HUD_DIM)
        bar_top, bar_h = h * 0.93, max(2.0, h * 0.025)
        self._box(image, w * 0.02, bar_top, w * 0.22, bar_top + bar_h, (30, 30, 50))
        self._box(image, w * 0.02, bar_top, w * 0.02 + w * 0.2 * state.boost, bar_top + bar_h, (40, 255, 255))
        for i in range(state.crashes):
            draw_text(image, "X", w - round(w * 0.02) - (i + 1) * 7 * s, round(h * 0.92), s, (255, 40, 40))
        if state.done:
            image //= 3
            title = "FINISH" if state.finished else "GAME OVER"
            big = 2 * s
            draw_text(image, title, (w - text_width(title, big)) // 2, round(h * 0.35), big, HUD)
            score = f"SCORE {state.score}   TIME {state.race_time:.1f}"
            draw_text(image, score, (w - text_width(score, s)) // 2, round(h * 0.5), s, HUD)
            if state.best_lap_time is not None:
                best = f"BEST LAP {state.best_lap_time:.1f}"
                draw_text(image, best, (w - text_width(best, s)) // 2, round(h * 0.57), s, HUD)
            hint = "ENTER TO RESTART"
            draw_text(image, hint, (w - text_width(hint, s)) // 2, round(h * 0.66), s, HUD_DIM)

    def render(self, state: GameState | None = None) -> np.ndarray:
        """The frame for ``state`` (default: the game's current state), RGB uint8 (height, width, 3)."""
        state = state or self.game.state
        image = self._background(state)
        projection = self._project(state)
        self._road(image, projection)
        self._rivals(image, state, projection)
        self._player(image, state)
        self._hud(image, state)
        return image
