"""One palette for classes, shared by every view that colours by class.

The data preview, the class-balance chart, the decision boundary and the evaluation views all
import from here, so class 3 is the same colour in the scatter, in the boundary behind it and
in the confusion matrix labels.

The first seven entries are the Okabe–Ito palette (distinguishable with the common forms of
colour blindness); the rest come from Paul Tol's "muted" scheme, chosen to stay apart from the
first seven. Class 0 and 1 are blue and orange, the pair that reads best for two-class sets.
"""

from __future__ import annotations

CLASS_COLORS: list[str] = [
    "#0072B2",  # blue
    "#E69F00",  # orange
    "#009E73",  # bluish green
    "#D55E00",  # vermillion
    "#CC79A7",  # reddish purple
    "#56B4E9",  # sky blue
    "#F0E442",  # yellow
    "#882255",  # wine
    "#999933",  # olive
    "#332288",  # indigo
    "#888888",  # grey
    "#44AA99",  # teal
]

# Colours for numbers rather than classes (regression targets, saliency), also readable for
# colour-blind users: viridis end points and a sequential red for "attention".
SEQUENTIAL_LOW = "#440154"
SEQUENTIAL_HIGH = "#FDE725"
SALIENCY_COLOR = "#FF3B1F"


def class_color(index: int) -> str:
    """Hex colour of class ``index``; wraps around when there are more classes than colours."""
    return CLASS_COLORS[int(index) % len(CLASS_COLORS)]


def class_rgb(index: int) -> tuple[int, int, int]:
    """Class colour as an (r, g, b) tuple of 0–255 ints (for NumPy images and pyqtgraph)."""
    value = class_color(index).lstrip("#")
    return int(value[0:2], 16), int(value[2:4], 16), int(value[4:6], 16)


def class_qcolor(index: int, alpha: int = 255):
    """Class colour as a QColor with the given alpha (0–255)."""
    from PySide6.QtGui import QColor  # lazy: this module is also read by non-Qt code

    color = QColor(class_color(index))
    color.setAlpha(int(alpha))
    return color


def class_label(class_names, index: int) -> str:
    """Class ``index``'s name, or its number when the dataset names none."""
    if class_names and 0 <= index < len(class_names):
        return str(class_names[index])
    return str(index)
