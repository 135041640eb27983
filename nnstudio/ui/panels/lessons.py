"""The Lessons panel: the list with progress marks, the current lesson's text, its hints one at
a time, the live check and the solution.

A view only: it shows what the window's LessonsController gives it and says what the learner
asked for through its signals (set up, show me, an answer typed). The check is computed from
the project document by the controller, never from these widgets.
"""

from __future__ import annotations

import html

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QGridLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSplitter,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from nnstudio.ui import style

PASSED_MARK, STARTED_MARK, NO_MARK = "✓", "•", "  "
CHECK_STYLES = {
    True: "background: #dcfce7; color: #166534; border: 1px solid #86efac;",
    False: f"background: #f8fafc; color: {style.TEXT}; border: 1px solid {style.BORDER};",
}


class LessonsPanel(QWidget):
    """objectName ``lessonsPanel``. ``set_lessons`` fills the list; ``show_lesson`` the text."""

    lesson_selected = Signal(str)
    set_up_requested = Signal(str)
    solution_requested = Signal(str)
    answer_changed = Signal(str)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("lessonsPanel")
        self.lesson = None
        self.hints_shown = 0
        self._solution: str | None = None
        self.list = QListWidget(objectName="lessonList")
        # Whole titles on a narrow dock: wrapped, never a sideways scroll bar.
        self.list.setWordWrap(True)
        self.list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.list.currentItemChanged.connect(self._on_current_changed)
        self.text = QTextBrowser(objectName="lessonText")
        self.text.setOpenExternalLinks(False)
        self.problems = QLabel(objectName="lessonProblems", wordWrap=True)
        self.problems.setStyleSheet("color: #b45309;")
        self.problems.hide()
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(self.list)
        splitter.addWidget(self._build_lesson_area())
        splitter.setStretchFactor(1, 3)
        splitter.setSizes([150, 450])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self.problems)
        layout.addWidget(splitter, 1)

    def _build_lesson_area(self) -> QWidget:
        area = QWidget()
        self.set_up_button = QPushButton("Set up", objectName="lessonSetUp")
        self.set_up_button.setToolTip("Open this lesson's starting project")
        self.hint_button = QPushButton("Hint", objectName="lessonHint")
        self.solution_button = QPushButton("Show me", objectName="lessonShowMe")
        self.solution_button.setToolTip("Apply the solution and explain it")
        self.set_up_button.clicked.connect(lambda: self._ask(self.set_up_requested))
        self.hint_button.clicked.connect(self.show_next_hint)
        self.solution_button.clicked.connect(lambda: self._ask(self.solution_requested))
        # Set up above the two kinds of help: on one row the three buttons made the dock the
        # widest of the column it shares at 1024×600, and the pages beside it scrolled.
        buttons = QGridLayout()
        buttons.addWidget(self.set_up_button, 0, 0, 1, 2)
        buttons.addWidget(self.hint_button, 1, 0)
        buttons.addWidget(self.solution_button, 1, 1)
        self.answer_label = QLabel(wordWrap=True)
        self.answer = QLineEdit(objectName="lessonAnswer")
        self.answer.textChanged.connect(self.answer_changed)
        self.check_label = QLabel(objectName="lessonCheck", wordWrap=True)
        self.check_label.setTextFormat(Qt.TextFormat.PlainText)
        self.check_label.setMargin(6)
        layout = QVBoxLayout(area)
        layout.setContentsMargins(0, 4, 0, 0)
        layout.addWidget(self.text, 1)
        layout.addWidget(self.answer_label)
        layout.addWidget(self.answer)
        layout.addWidget(self.check_label)
        layout.addLayout(buttons)
        self._enable(False)
        return area

    # -- what the controller calls --------------------------------------------------------------

    def set_lessons(self, lessons, progress: dict, problems: list[str] | None = None) -> None:
        """The list with progress marks; ``problems`` (lesson files skipped) when given."""
        current = self.lesson.id if self.lesson else None
        self.list.blockSignals(True)
        self.list.clear()
        for number, lesson in enumerate(lessons, 1):
            mark = self._mark(progress.get(lesson.id, {}))
            item = QListWidgetItem(f"{mark} {number}. {lesson.title}")
            item.setData(Qt.ItemDataRole.UserRole, lesson.id)
            self.list.addItem(item)
            if lesson.id == current:
                self.list.setCurrentItem(item)
        self.list.blockSignals(False)
        if problems is not None:
            self.problems.setText("\n".join(problems))
            self.problems.setVisible(bool(problems))

    @staticmethod
    def _mark(progress: dict) -> str:
        if progress.get("passed"):
            return PASSED_MARK
        return STARTED_MARK if progress.get("started") else NO_MARK

    def select(self, lesson_id: str) -> None:
        for row in range(self.list.count()):
            if self.list.item(row).data(Qt.ItemDataRole.UserRole) == lesson_id:
                self.list.setCurrentRow(row)

    def show_lesson(self, lesson) -> None:
        """The lesson's text and task; hints start hidden again."""
        self.lesson, self.hints_shown, self._solution = lesson, 0, None
        self._enable(True)
        self.answer_label.setText(lesson.answer_prompt or "")
        for widget in (self.answer_label, self.answer):
            widget.setVisible(lesson.answer_prompt is not None)
        self.answer.blockSignals(True)
        self.answer.clear()
        self.answer.blockSignals(False)
        self._render()

    def show_next_hint(self) -> None:
        if self.lesson is not None and self.hints_shown < len(self.lesson.hints):
            self.hints_shown += 1
            self._render(scroll_to_end=True)

    def show_solution(self, explanation: str) -> None:
        self._solution = explanation
        self._render(scroll_to_end=True)

    def set_answer(self, text: str) -> None:
        self.answer.setText(text)

    def set_check(self, passed: bool, message: str) -> None:
        """The live check: green once the task is met."""
        self.check_label.setText(("Passed — " if passed else "Not yet — ") + message)
        self.check_label.setStyleSheet(CHECK_STYLES[bool(passed)])
        self.check_label.setProperty("passed", bool(passed))

    @property
    def passed(self) -> bool:
        return bool(self.check_label.property("passed"))

    # -- drawing --------------------------------------------------------------------------------

    def _render(self, scroll_to_end: bool = False) -> None:
        """The lesson's text; ``scroll_to_end`` brings a new hint or the solution into view
        (the dock is short, and they come after the explanation)."""
        lesson = self.lesson
        parts = [f"<h3>{html.escape(lesson.title)}</h3>"]
        parts += [f"<p>{html.escape(p)}</p>" for p in lesson.explanation]
        parts.append(f"<p><b>Your task:</b> {html.escape(lesson.task)}</p>")
        for number, hint in enumerate(lesson.hints[: self.hints_shown], 1):
            parts.append(f"<p><i>Hint {number}:</i> {html.escape(hint)}</p>")
        if self._solution:
            parts.append(f"<p><b>Solution:</b> {html.escape(self._solution)}</p>")
        self.text.setHtml("".join(parts))
        if scroll_to_end:
            bar = self.text.verticalScrollBar()
            bar.setValue(bar.maximum())
        left = len(lesson.hints) - self.hints_shown
        self.hint_button.setText(f"Hint ({left} left)" if left else "No more hints")
        self.hint_button.setEnabled(left > 0)

    def _enable(self, enabled: bool) -> None:
        for button in (self.set_up_button, self.hint_button, self.solution_button):
            button.setEnabled(enabled)

    def _ask(self, signal) -> None:
        if self.lesson is not None:
            signal.emit(self.lesson.id)

    def _on_current_changed(self, current, _previous) -> None:
        if current is not None:
            self.lesson_selected.emit(current.data(Qt.ItemDataRole.UserRole))
