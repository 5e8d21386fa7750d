"""The Train tab's fields for a learner's options: a text box for numbers, a check box for switches.

Both keep the form's one rule: a field left alone follows the environment's preset, which it shows; one the user
set says what the run uses. ``value()`` is what goes to the command's own option parser (``config.from_texts``):
empty for "the preset's", else the value.
"""

from __future__ import annotations

from PyQt5.QtWidgets import QCheckBox, QLineEdit


class Switch(QCheckBox):
    """A true/false option. It shows the preset's value until clicked; from then on its state is the user's."""

    def __init__(self) -> None:
        super().__init__()
        self.chosen = False
        """whether the user has set it (else it follows the preset)"""
        self.clicked.connect(self._choose)

    def _choose(self) -> None:
        self.chosen = True

    def value(self) -> str:
        """ "true" or "false" once the user has set it, else "" (the preset's)."""
        return ("true" if self.isChecked() else "false") if self.chosen else ""

    def set_value(self, text: str) -> None:
        """A saved value: "true" or "false" (the user's), or "" (follow the preset)."""
        self.chosen = text in ("true", "false")
        if self.chosen:
            self.setChecked(text == "true")

    def show_preset(self, value: object) -> None:
        if not self.chosen:
            self.setChecked(bool(value))


class TextField(QLineEdit):
    """A typed option (a number, a path, KEY=VALUE pairs); empty shows the preset's value greyed."""

    def __init__(self, width: int | None = 110) -> None:
        super().__init__()
        if width is not None:
            self.setMaximumWidth(width)

    def value(self) -> str:
        return self.text()

    def set_value(self, text: str) -> None:
        self.setText(text)

    def show_preset(self, value: object) -> None:
        shown = " ".join(map(str, value)) if isinstance(value, list) else str(value)  # a repeated option: its values
        self.setPlaceholderText(shown)


OptionField = Switch | TextField


def field_for(default: object) -> OptionField:
    """The field for an option whose default is ``default``."""
    return Switch() if isinstance(default, bool) else TextField()
