"""Forms from a registered command's schema, and the options a filled form sends."""

from __future__ import annotations

import base64

import pytest

from sandbox.console.commands import FormError, build_options, command_forms

COURSE = {
    "name": "course",
    "description": "Courses",
    "options": [
        {
            "type": 1,
            "name": "claim",
            "description": "Claim a server",
            "options": [{"type": 3, "name": "code", "description": "The code", "required": True}],
        },
        {
            "type": 1,
            "name": "roster",
            "description": "Replace the students",
            "options": [
                {
                    "type": 3,
                    "name": "course",
                    "description": "The course",
                    "required": True,
                    "autocomplete": True,
                },
                {"type": 11, "name": "file", "description": "CSV", "required": True},
            ],
        },
        {
            "type": 2,
            "name": "admin",
            "description": "Admin",
            "options": [
                {
                    "type": 1,
                    "name": "limit",
                    "description": "Set a limit",
                    "options": [
                        {
                            "type": 4,
                            "name": "count",
                            "description": "How many",
                            "required": True,
                            "min_value": 1,
                            "max_value": 10,
                        },
                        {
                            "type": 3,
                            "name": "kind",
                            "description": "Kind",
                            "choices": [
                                {"name": "Lecture", "value": "lecture"},
                                {"name": "Laboratory", "value": "laboratory"},
                            ],
                        },
                        {"type": 5, "name": "dry", "description": "Only show"},
                    ],
                }
            ],
        },
    ],
}


def test_one_form_per_subcommand_with_typed_inputs() -> None:
    """Subcommands and groups become one form each; options keep their widget and rules."""
    forms = {f.key: f for f in command_forms(COURSE)}
    assert list(forms) == ["course claim", "course roster", "course admin limit"]
    assert forms["course claim"].title == "/course claim"
    (code,) = forms["course claim"].fields
    assert (code.name, code.widget, code.required) == ("code", "text", True)
    course, upload = forms["course roster"].fields
    assert course.autocomplete
    assert upload.widget == "file"
    count, kind, dry = forms["course admin limit"].fields
    assert (count.widget, count.step, count.min_value, count.max_value) == ("number", "1", 1, 10)
    assert kind.widget == "select"
    assert [c.value for c in kind.choices] == ["lecture", "laboratory"]
    assert dry.widget == "checkbox"
    assert not dry.required


def test_a_command_without_subcommands_is_one_form() -> None:
    forms = command_forms({"name": "ping", "description": "Ping", "options": []})
    assert [(f.key, f.fields) for f in forms] == [("ping", ())]


def test_filled_form_nests_typed_options_under_the_subcommand_path() -> None:
    forms = {f.key: f for f in command_forms(COURSE)}
    options = build_options(
        forms["course admin limit"], {"count": "3", "kind": "lecture", "dry": True}
    )
    assert options == [
        {
            "name": "admin",
            "type": 2,
            "options": [
                {
                    "name": "limit",
                    "type": 1,
                    "options": [
                        {"name": "count", "type": 4, "value": 3},
                        {"name": "kind", "type": 3, "value": "lecture"},
                        {"name": "dry", "type": 5, "value": True},
                    ],
                }
            ],
        }
    ]
    csv = base64.b64encode(b"name,github\n").decode()
    file = {"filename": "r.csv", "content_type": "text/csv", "base64": csv}
    roster = build_options(forms["course roster"], {"course": "CS101", "file": file})
    assert roster[0]["options"][1] == {"name": "file", "type": 11, "attachment": file}


def test_empty_optional_inputs_are_left_out() -> None:
    forms = {f.key: f for f in command_forms(COURSE)}
    options = build_options(forms["course admin limit"], {"count": 2, "kind": ""})
    assert options[0]["options"][0]["options"] == [{"name": "count", "type": 4, "value": 2}]


@pytest.mark.parametrize(
    ("form", "values", "field", "words"),
    [
        ("course claim", {}, "code", "required"),
        ("course claim", {"code": "   "}, "code", "required"),
        ("course admin limit", {"count": "two"}, "count", "whole number"),
        ("course admin limit", {"count": "11"}, "count", "at most 10"),
        ("course admin limit", {"count": "0"}, "count", "at least 1"),
        ("course admin limit", {"count": "1", "kind": "seminar"}, "kind", "lecture, laboratory"),
        ("course roster", {"course": "x", "file": {"filename": "a.csv"}}, "file", "choose a file"),
        (
            "course roster",
            {"course": "x", "file": {"filename": "a.csv", "base64": "%%%"}},
            "file",
            "could not be read",
        ),
    ],
)
def test_a_bad_form_names_the_field_and_the_fix(
    form: str, values: dict[str, object], field: str, words: str
) -> None:
    forms = {f.key: f for f in command_forms(COURSE)}
    with pytest.raises(FormError) as refused:
        build_options(forms[form], values)
    assert refused.value.field == field
    assert words in refused.value.message
