import cv2
import numpy as np
import pytest

from capture.preprocess import OBS_SHAPE, Crop, preprocess, to_uint8, uint8_to_obs


def process_frame_original(frame, top, left, height, width):
    """A straight transcription of the original system's ``_process_frame``."""
    frame = frame[top : top + height, left : left + width]
    frame = cv2.resize(frame, (200, 128))
    frame = frame.mean(2)
    frame = frame.astype(np.float32)
    frame *= 1.0 / 255.0
    frame = np.reshape(frame, [128, 200, 1])
    return frame


@pytest.mark.parametrize("channels", [3, 4])
@pytest.mark.parametrize(
    ("shape", "crop"), [((500, 800), None), ((600, 800), Crop(40, 16, 500, 760)), ((97, 131), None)]
)
def test_matches_original_recipe(channels, shape, crop):
    rng = np.random.default_rng(0)
    for _ in range(5):
        frame = rng.integers(0, 256, (*shape, channels), dtype=np.uint8)
        c = crop or Crop(0, 0, *shape)
        expected = process_frame_original(frame[:, :, :3], c.top, c.left, c.height, c.width)
        got = preprocess(frame, crop)
        assert got.shape == OBS_SHAPE and got.dtype == np.float32
        assert np.max(np.abs(got - expected)) <= 1e-6


def test_uint8_storage_form_rounds_the_same_recipe():
    frame = np.random.default_rng(1).integers(0, 256, (500, 800, 4), dtype=np.uint8)
    stored = to_uint8(frame)
    assert stored.shape == (128, 200) and stored.dtype == np.uint8
    obs = preprocess(frame)
    assert np.max(np.abs(uint8_to_obs(stored) - obs)) <= 0.5 / 255 + 1e-7
    batch = uint8_to_obs(np.stack([stored, stored]))
    assert batch.shape == (2, *OBS_SHAPE)


def test_bad_inputs_name_the_value():
    with pytest.raises(ValueError, match="height/width must be > 0"):
        Crop(0, 0, 0, 10)
    with pytest.raises(ValueError, match="top/left must be >= 0"):
        Crop(-1, 0, 10, 10)
    with pytest.raises(ValueError, match="must be an integer"):
        Crop(0, 0, 10.5, 10)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="does not fit the 800x500 window"):
        preprocess(np.zeros((500, 800, 3), np.uint8), Crop(0, 0, 600, 800))
    with pytest.raises(ValueError, match="uint8 HxWx3 or HxWx4"):
        preprocess(np.zeros((500, 800), np.uint8))
    with pytest.raises(ValueError, match="uint8 frames of shape"):
        uint8_to_obs(np.zeros((128, 200), np.float32))


def test_a_profile_may_weigh_the_channels_so_a_small_red_sprite_stands_out():
    from capture.frame_source import FrameSource
    from capture.preprocess import GREYS, Grey, gray_small

    road = np.full((256, 400, 4), 90, np.uint8)  # BGRA, as windows are grabbed
    road[100:140, 180:220, :3] = (0, 0, 200)  # a red car, 20x10 observation pixels
    mean, red = gray_small(road), gray_small(road, grey=GREYS["red"])
    assert np.array_equal(mean, gray_small(road, grey=Grey()))  # the default is the seed recipe, bit for bit
    assert mean[60, 100] - mean[10, 10] == pytest.approx(200 / 3 - 90)  # 23 levels darker than the road
    assert red[60, 100] - red[10, 10] == pytest.approx(110)  # 110 brighter
    luma = gray_small(road[:, :, :3].copy(), grey=GREYS["luma"])
    assert np.abs(luma - cv2.cvtColor(cv2.resize(road[:, :, :3], (200, 128)), cv2.COLOR_BGR2GRAY)).max() <= 0.5
    assert Grey(2, 1, 1).bgr().tolist() == [0.25, 0.25, 0.5]  # blue, green, red; normalised
    with pytest.raises(ValueError, match=r"grey weights must be numbers >= 0 with a positive sum, got \(0, 0, 0\)"):
        Grey(0, 0, 0)

    class Still:  # a grabber that always shows the same window
        def grab(self) -> np.ndarray:
            return road

    frame = FrameSource(Still(), fps=None, grey=GREYS["red"]).read()  # type: ignore[arg-type]
    assert np.array_equal(frame.gray, red)
