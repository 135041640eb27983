"""`nnstudio lessons`: the list, a check on the start and on the solution, --json, bad ids and
a malformed teacher's lesson named on stderr."""

import json

from nnstudio.cli.main import main
from nnstudio.project.lessons import load_lessons


def _json_lines(capsys):
    captured = capsys.readouterr()
    return json.loads(captured.out), captured.err


def test_lessons_lists_id_and_title_as_json(capsys):
    assert main(["lessons", "--json"]) == 0
    listed, _ = _json_lines(capsys)
    shipped, _ = load_lessons()
    assert listed == [{"id": lesson.id, "title": lesson.title} for lesson in shipped]
    assert len(listed) >= 12


def test_lessons_lists_them_as_text(capsys):
    assert main(["lessons"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:2] == ["1.", "architecture"]


def test_check_fails_on_the_start_and_passes_with_the_solution(capsys):
    assert main(["lessons", "check", "epochs-batches", "--json"]) == 0
    result, _ = _json_lines(capsys)
    assert result["passed"] is False
    assert "Validation accuracy" in result["message"]
    assert main(["lessons", "check", "epochs-batches", "--solution", "--json"]) == 0
    result, _ = _json_lines(capsys)
    assert result == {"passed": True, "message": result["message"]} and result["passed"]


def test_check_prints_words_without_json(capsys):
    assert main(["lessons", "check", "gradient-descent", "--solution"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("gradient-descent: passed")
    assert "diverged at learning rate 50" in out


def test_an_unknown_lesson_is_bad_input(capsys):
    assert main(["lessons", "check", "no-such-lesson"]) == 2
    err = capsys.readouterr().err
    assert "no lesson 'no-such-lesson'" in err and "architecture" in err
    assert main(["lessons", "check"]) == 2


def test_a_malformed_teachers_lesson_is_named_and_skipped(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("NNSTUDIO_DATA_DIR", str(tmp_path))
    (tmp_path / "lessons").mkdir()
    (tmp_path / "lessons" / "90-mine.json").write_text('{"id": "mine", "title": 3}')
    assert main(["lessons", "--json"]) == 0
    listed, err = _json_lines(capsys)
    assert "mine" not in [entry["id"] for entry in listed]
    assert "90-mine.json" in err and "'title'" in err
