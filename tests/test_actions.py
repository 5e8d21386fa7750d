import numpy as np
import pytest

from control.actions import ACTION_NAMES, ActionTable, KeyMap
from control.human import action_from_keys
from control.keys import KeyNameError, parse_key


def test_default_table_is_the_design_table():
    table = ActionTable()
    assert table.n == 7
    assert ACTION_NAMES == ("left", "right", "up", "left+up", "right+up", "down", "up+x")
    expected = [{"left"}, {"right"}, {"up"}, {"left", "up"}, {"right", "up"}, {"down"}, {"up", "x"}]
    assert [set(table.keys(a)) for a in range(7)] == expected
    assert table.managed_keys == {"left", "right", "up", "down", "x"}
    assert table.keys(np.int64(3)) == {"left", "up"}


def test_profile_key_names_and_noop():
    table = ActionTable(KeyMap(left="a", right="d", up="w", down="s", turbo="Space"), noop=True)
    assert table.n == 8 and table.names[-1] == "none"
    assert table.keys(3) == {"a", "w"}
    assert table.keys(6) == {"w", "space"}
    assert table.keys(7) == frozenset()


def test_bad_actions_and_keymaps():
    with pytest.raises(ValueError, match=r"action must be an integer in 0\.\.6, got 7"):
        ActionTable().keys(7)
    with pytest.raises(ValueError, match="got 'up'"):
        ActionTable().keys("up")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="both mapped to 'x'"):
        KeyMap(turbo="x", down="x")
    with pytest.raises(KeyNameError, match="unknown key name 'lefty'"):
        KeyMap(left="lefty")


def test_key_names():
    assert parse_key("Return") == "enter"
    assert parse_key("F12") == "f12"
    assert parse_key("X") == "x"
    assert parse_key("page-up") == "page_up"
    for bad in ("", " ", "\t", "superkey"):
        with pytest.raises(KeyNameError):
            parse_key(bad)


@pytest.mark.parametrize(
    ("held", "action"),
    [
        (set(), None),
        ({"left"}, 0),
        ({"right"}, 1),
        ({"up"}, 2),
        ({"left", "up"}, 3),
        ({"right", "up"}, 4),
        ({"down"}, 5),
        ({"turbo"}, 6),
        ({"up", "turbo"}, 6),
        ({"left", "right"}, None),
        ({"left", "right", "up"}, 2),
        ({"down", "up"}, 5),
        ({"down", "left"}, 5),
        ({"down", "turbo", "right"}, 5),
        ({"left", "turbo"}, 3),
        ({"right", "up", "turbo"}, 4),
    ],
)
def test_human_keys_map_to_documented_actions(held, action):
    assert action_from_keys(frozenset(held), ActionTable()) == action


def test_nothing_held_is_noop_when_the_table_has_one():
    assert action_from_keys(frozenset(), ActionTable(noop=True)) == 7
