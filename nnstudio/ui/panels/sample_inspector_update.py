"""The last two pages of the "See the math" inspector: what one optimizer step would do to the
chosen unit's weights, and the gradient check against finite differences."""

from __future__ import annotations

from PySide6.QtWidgets import QHBoxLayout, QPushButton

from nnstudio.project.explain_layers import unit_parameter_entries
from nnstudio.project.explain_steps import format_number as fmt
from nnstudio.project.gradient_check import kink_note, kinks_explained, row_verdict
from nnstudio.ui.panels.sample_inspector_pages import InspectorPage, monospace, wrapped_label
from nnstudio.ui.panels.sample_inspector_views import fill_table, numbers_table


class UpdatePage(InspectorPage):
    def __init__(self):
        super().__init__()
        self.title = wrapped_label(name="inspectorUpdateTitle", big=True)
        self.formula = monospace(wrapped_label(name="inspectorUpdateFormula"))
        self.note = wrapped_label()
        for widget in (self.title, self.formula, self.note):
            self.layout_.addWidget(widget)
        self.table = numbers_table("inspectorUpdateTable")
        self.layout_.addWidget(self.table, 1)

    def show(self, explanation, step, unit: int) -> None:
        if step is None or not explanation.updates:
            self.title.setText("<b>Update</b>")
            self.formula.setText("No optimizer to preview (or no layer with weights).")
            self.table.setRowCount(0)
            return
        entries = unit_parameter_entries(step, unit, 10)
        first = explanation.updates[next(iter(entries))]
        what = step.explainer.unit_word
        self.title.setText(
            f"<b>Update</b> — one {explanation.optimizer} step for {step.name}, {what} {unit}, "
            "with this sample's gradient alone"
        )
        self.formula.setText(first.formula)
        notes = [
            f"Dropout ({s.name}) zeroed {int((s.mask == 0).sum())} of {s.mask.size} values: "
            "their weights get no gradient from this sample."
            for s in explanation.layers
            if s.mask is not None
        ]
        self.note.setText(" ".join(notes))
        self.note.setVisible(bool(notes))
        term_names = list(first.terms)
        headers = [("weight", "Engine name and index"), ("w", "The weight now")]
        headers += [(name, first.meanings.get(name, name)) for name in term_names]
        headers.append(("w after", "The weight after the step, with the digits that differ"))
        rows, tips = [], []
        for name, indices in entries.items():
            update = explanation.updates[name]
            for index in indices:
                index = tuple(int(i) for i in index)
                label = f"{name}{list(index)}"
                values = [
                    float(update.terms[t][index]) if t in update.terms else 0.0 for t in term_names
                ]
                before, after = float(update.before[index]), float(update.after[index])
                row = [label, before, *values, after]
                rows.append([*row[:-1], digits_that_differ(before, after)])
                tips.append(
                    [f"weight {label}", f"w = {fmt(row[1])}"]
                    + [
                        f"{t} of {label} = {fmt(v)}"
                        for t, v in zip(term_names, values, strict=True)
                    ]
                    + [f"w after = {fmt(before)} + ({fmt(after - before)}) = {after!r}"]
                )
        fill_table(self.table, headers, rows, tips)


def digits_that_differ(before: float, after: float) -> str:
    """``after`` with as many significant digits (4 to 9) as it takes to differ from
    ``before`` as printed: a step of 1e-6 on a weight of 0.2 must not read "0.2 → 0.2"."""
    for digits in range(4, 10):
        if f"{after:.{digits}g}" != f"{before:.{digits}g}":
            return f"{after:.{digits}g}"
    return f"{after:.9g}"


class CheckPage(InspectorPage):
    def __init__(self):
        super().__init__()
        self.title = wrapped_label("<b>Check</b> — backprop against finite differences", big=True)
        self.text = wrapped_label()
        self.check_button = QPushButton("Check this gradient", objectName="inspectorCheckButton")
        self.check_button.setAutoDefault(False)
        self.check_button.setToolTip(
            "Nudge each weight by ±ε, run the forward pass again and compare the slope of the "
            "loss with the gradient backprop gave"
        )
        self.result = wrapped_label(name="inspectorCheckResult", big=True)
        self.kinks = wrapped_label(name="inspectorCheckKinks")
        row = QHBoxLayout()
        row.addWidget(self.check_button)
        row.addWidget(self.result, 1)
        self.layout_.addWidget(self.title)
        self.layout_.addWidget(self.text)
        self.layout_.addLayout(row)
        self.layout_.addWidget(self.kinks)
        self.table = numbers_table("inspectorCheckTable")
        self.layout_.addWidget(self.table, 1)

    def describe(self, step, unit: int, same_mask: bool = False) -> None:
        """What the check of ``step``'s ``unit`` computes; ``same_mask``: the pass dropped
        units (Dropout in training mode), and the check drops the same ones."""
        if step is None:
            self.text.setText("This network has no weights to check.")
            self.check_button.setEnabled(False)
            return
        self.check_button.setEnabled(True)
        what = step.explainer.unit_word
        self.text.setText(
            f"Checks {step.name}, {what} {unit}: its largest weight gradients and its bias. "
            "For each weight w: numeric = (L(w + ε) − L(w − ε)) / 2ε with ε = 1e-5, on a "
            f"float64 copy of the model in {'training' if same_mask else 'the same'} mode"
            f"{' and with the same dropout mask' if same_mask else ''}."
        )

    def clear(self) -> None:
        self.result.setText("")
        self.kinks.setText("")
        self.table.setRowCount(0)

    def show_running(self) -> None:
        self.result.setText("Checking…")
        self.check_button.setEnabled(False)

    def show_error(self, message: str) -> None:
        self.check_button.setEnabled(True)
        self.result.setText(f"The check failed: {message}")

    def show_check(self, check, explanation) -> None:
        self.check_button.setEnabled(True)
        self.result.setText(check.summary())
        self.kinks.setText(kinks_explained(check))
        headers = [
            ("weight", "Engine name and index"),
            ("backprop", "The gradient the inspector shows (float32, the training dtype)"),
            ("backprop (float64)", "The same backward pass in float64"),
            ("finite differences", "(L(w + ε) − L(w − ε)) / 2ε"),
            ("relative error", "|backprop − numeric| / max(|backprop|, |numeric|, 1e-5)"),
            ("verdict", "agree, differ, or at a kink: which one-sided slope backprop matches"),
        ]
        rows, tips = [], []
        for row in check.rows:
            label = f"{row['parameter']}{row['index']}"
            verdict = row_verdict(row)
            rows.append(
                [label, row["shown"], row["analytic"], row["numeric"], row["relative_error"]]
                + [verdict]
            )
            tips.append(
                [
                    f"weight {label}",
                    f"backprop: {fmt(row['shown'])}",
                    f"backprop in float64: {fmt(row['analytic'])}",
                    f"numeric: {fmt(row['numeric'])}",
                    f"relative error {row['relative_error']:.2e}",
                    kink_note(row) if row["verdict"] == "kink" else verdict,
                ]
            )
        fill_table(self.table, headers, rows, tips)
