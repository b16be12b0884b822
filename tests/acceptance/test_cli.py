"""The real ``stepline`` command, run as a subprocess on real files.

Each test starts ``python -m stepline`` (about as slow as importing stepline), so the cases are
combined where one run can show several things. The trace's layout is tested in-process in
``tests/unit/test_cli_trace.py``; here it is enough that the right lines appear.
"""

from __future__ import annotations

import json
import re
import textwrap
from pathlib import Path
from typing import Any

import pytest

from support.cli_process import run_stepline

TASK = "arn:aws:states:::stepline:task"


def write_json(path: Path, value: Any) -> Path:
    path.write_text(json.dumps(value, indent=2), encoding="utf-8")
    return path


def pass_machine(**fields: Any) -> dict[str, Any]:
    return {"StartAt": "Only", "States": {"Only": {"Type": "Pass", "End": True, **fields}}}


GREET = {
    "StartAt": "Greet",
    "States": {
        "Greet": {
            "Type": "Pass",
            "Parameters": {"greeting.$": "States.Format('Hello, {}!', $.name)"},
            "ResultPath": "$.hello",
            "Next": "Check",
        },
        "Check": {
            "Type": "Choice",
            "Choices": [{"Variable": "$.name", "StringEquals": "Ada", "Next": "Done"}],
            "Default": "Done",
        },
        "Done": {"Type": "Succeed"},
    },
}


# --- run: success, --json, exit statuses ------------------------------------------------------


def test_run_prints_a_trace_of_each_state_and_the_output(tmp_path: Path) -> None:
    write_json(tmp_path / "greet.json", GREET)

    proc = run_stepline("run", "greet.json", "--input", '{"name": "Ada"}', cwd=tmp_path)

    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0] == 'Input: {"name":"Ada"}'
    greet = next(line for line in lines if "Greet" in line)
    assert greet.startswith("✓ Greet  Pass  ")
    assert '{"name":"Ada"} → {"name":"Ada","hello":{"greeting":"Hello, Ada!"}}' in greet
    assert any(line.startswith("✓ Check  Choice  ") for line in lines)
    assert any(line.startswith("✓ Done  Succeed  ") for line in lines)
    assert any(line.startswith("SUCCEEDED in ") for line in lines)
    assert lines[-1] == 'Output: {"name":"Ada","hello":{"greeting":"Hello, Ada!"}}'
    assert "\x1b[" not in proc.stdout  # not a terminal, and NO_COLOR is set
    assert proc.stderr == ""


def test_run_json_prints_exactly_one_object_and_keeps_big_integers(tmp_path: Path) -> None:
    write_json(tmp_path / "m.json", pass_machine())
    big = 123456789012345678901234567890

    proc = run_stepline(
        "run", "m.json", "--json", "--input", f'{{"n": {big}, "s": "é"}}', cwd=tmp_path
    )

    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == {
        "status": "SUCCEEDED",
        "output": {"n": big, "s": "é"},
        "error": None,
        "cause": None,
    }
    assert proc.stdout.count("\n") == 1


def test_run_failure_exits_1_with_error_and_cause(tmp_path: Path) -> None:
    definition = {
        "StartAt": "Nope",
        "States": {"Nope": {"Type": "Fail", "Error": "Out.Of.Stock", "Cause": "no widgets"}},
    }
    write_json(tmp_path / "fail.json", definition)

    as_json = run_stepline("run", "fail.json", "--json", cwd=tmp_path)
    as_trace = run_stepline("run", "fail.json", cwd=tmp_path)

    assert as_json.returncode == 1
    assert json.loads(as_json.stdout) == {
        "status": "FAILED",
        "output": None,
        "error": "Out.Of.Stock",
        "cause": "no widgets",
    }
    assert as_trace.returncode == 1
    assert "✗ Nope  Fail" in as_trace.stdout
    assert "Error: Out.Of.Stock\nCause: no widgets\n" in as_trace.stdout
    assert "FAILED in " in as_trace.stdout


# --- definitions and inputs in files ----------------------------------------------------------


def test_yaml_definition_with_yaml_input_file(tmp_path: Path) -> None:
    (tmp_path / "wf.yaml").write_text(
        textwrap.dedent(
            """\
            StartAt: Stamp
            States:
              Stamp:
                Type: Pass
                Parameters:
                  at: 2026-01-31T12:00:00Z   # stays a string, as in JSON
                  who.$: $.who
                End: true
            """
        ),
        encoding="utf-8",
    )
    (tmp_path / "in.yml").write_text("who: Grace\n", encoding="utf-8")

    proc = run_stepline("run", "wf.yaml", "--input", "@in.yml", "--json", cwd=tmp_path)

    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["output"] == {"at": "2026-01-31T12:00:00Z", "who": "Grace"}


def test_formats_are_sniffed_without_an_extension_and_stdin_works(tmp_path: Path) -> None:
    (tmp_path / "workflow").write_text(
        "StartAt: Only\nStates:\n  Only: {Type: Pass, End: true}\n", encoding="utf-8"
    )
    (tmp_path / "payload").write_text('{"from": "file"}', encoding="utf-8")

    from_files = run_stepline("run", "workflow", "--input", "@payload", "--json", cwd=tmp_path)
    from_stdin = run_stepline(
        "run", "-", "--json", cwd=tmp_path, stdin=json.dumps(pass_machine(Result=[1, 2]))
    )

    assert json.loads(from_files.stdout)["output"] == {"from": "file"}
    assert json.loads(from_stdin.stdout)["output"] == [1, 2]


# --- mistakes: exit 2, one message on stderr, nothing on stdout -------------------------------


@pytest.mark.parametrize(
    ("files", "args", "expected"),
    [
        pytest.param(
            {},
            ["run", "missing.json"],
            ["missing.json: no such file", "current directory"],
            id="missing-definition",
        ),
        pytest.param(
            {"m.json": json.dumps(pass_machine())},
            ["run", "m.json", "--input", '{"a": }'],
            ["--input: line 1, column 7: the input is not valid JSON", "--input @input.json"],
            id="input-not-json",
        ),
        pytest.param(
            {"m.json": json.dumps(pass_machine())},
            ["run", "m.json", "--input", "@nowhere.json"],
            ["nowhere.json: no such file"],
            id="missing-input-file",
        ),
        pytest.param(
            {"bad.json": '{\n  "StartAt": "A",\n  "States": {,}\n}\n'},
            ["run", "bad.json"],
            ["bad.json: line 3, column 14: the definition is not valid JSON"],
            id="definition-not-json",
        ),
        pytest.param(
            {"bad.yaml": "StartAt: A\nStates:\n  A: [Type: Pass\n"},
            ["run", "bad.yaml"],
            ["bad.yaml: line 4, column 1: the definition is not valid YAML"],
            id="definition-not-yaml",
        ),
        pytest.param(
            {"list.json": "[1, 2]"},
            ["run", "list.json"],
            ["list.json: a state machine definition must be an object", "holds an array"],
            id="definition-not-object",
        ),
        pytest.param(
            {"m.json": json.dumps(pass_machine())},
            ["run", "m.json", "--name", "not a name!"],
            ["Invalid execution name 'not a name!'", "Check --name"],
            id="bad-execution-name",
        ),
    ],
)
def test_unusable_files_and_arguments_exit_2_with_a_clear_message(
    tmp_path: Path, files: dict[str, str], args: list[str], expected: list[str]
) -> None:
    for name, text in files.items():
        (tmp_path / name).write_text(text, encoding="utf-8")

    proc = run_stepline(*args, cwd=tmp_path)

    assert proc.returncode == 2
    assert proc.stdout == ""
    assert proc.stderr.startswith("stepline: error: ")
    for fragment in expected:
        assert fragment in proc.stderr


def test_invalid_definition_lists_every_problem_with_its_location(tmp_path: Path) -> None:
    definition = {
        "StartAt": "A",
        "States": {
            "A": {"Type": "Pasz", "Next": "B"},
            "B": {"Type": "Pass", "Next": "Nowhere"},
        },
    }
    write_json(tmp_path / "wf.json", definition)

    proc = run_stepline("run", "wf.json", "--json", cwd=tmp_path)

    assert proc.returncode == 2
    assert proc.stdout == ""
    assert "wf.json: the state machine definition is invalid (2 problems" in proc.stderr
    assert "  ERROR /States/A/Type: " in proc.stderr
    assert "  ERROR /States/B/Next: " in proc.stderr
    assert "[SCHEMA_VALIDATION_FAILED]" in proc.stderr
    assert "stepline validate wf.json" in proc.stderr


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        pytest.param([], "name a command", id="no-command"),
        pytest.param(
            ["run", "x.json", "--colour"], "unrecognized arguments: --colour", id="option"
        ),
    ],
)
def test_bad_arguments_exit_2(tmp_path: Path, args: list[str], expected: str) -> None:
    proc = run_stepline(*args, cwd=tmp_path)

    assert proc.returncode == 2
    assert expected in proc.stderr
    assert "usage: stepline" in proc.stderr


def test_version(tmp_path: Path) -> None:
    import stepline as library

    proc = run_stepline("--version", cwd=tmp_path)

    assert proc.returncode == 0
    assert proc.stdout == f"stepline {library.__version__}\n"


# --- validate ---------------------------------------------------------------------------------


def test_validate_reports_each_file(tmp_path: Path) -> None:
    write_json(tmp_path / "good.json", pass_machine())
    (tmp_path / "warned.yaml").write_text(
        "StartAt: Only\nStates:\n  Only:\n    Type: Pass\n    Parameters: {x: $.a}\n"
        "    End: true\n",
        encoding="utf-8",
    )
    write_json(tmp_path / "bad.json", {"StartAt": "Missing", "States": {}})
    (tmp_path / "twice.json").write_text(
        '{"StartAt": "A", "States": {"A": {"Type": "Pass", "End": true},'
        ' "A": {"Type": "Pass", "End": true}}}',
        encoding="utf-8",
    )

    proc = run_stepline(
        "validate", "good.json", "warned.yaml", "bad.json", "twice.json", "gone.json", cwd=tmp_path
    )
    all_valid = run_stepline("validate", "good.json", "warned.yaml", cwd=tmp_path)

    assert proc.returncode == 2
    lines = proc.stdout.splitlines()
    assert lines[0] == "good.json: valid"
    assert lines[1].startswith("warned.yaml: WARNING /States/Only/Parameters/x: ")
    assert lines[1].endswith("]")
    assert lines[2] == "warned.yaml: valid"
    assert any(line.startswith("bad.json: ERROR /") for line in lines)
    assert any(
        line.startswith("twice.json: ERROR /States/A: ") and "[DUPLICATE_STATE_NAME]" in line
        for line in lines
    )
    assert not any(line.startswith(("bad.json: valid", "twice.json: valid")) for line in lines)
    assert "stepline: error: gone.json: no such file" in proc.stderr
    assert all_valid.returncode == 0
    assert all_valid.stdout.splitlines()[-1] == "warned.yaml: valid"


# --- Task states ------------------------------------------------------------------------------


def test_task_handlers_from_a_module_with_retries_and_catches(tmp_path: Path) -> None:
    lib = tmp_path / "lib"
    lib.mkdir()
    (lib / "shop_tasks.py").write_text(
        textwrap.dedent(
            """\
            attempts = 0

            def flaky(order):
                global attempts
                attempts += 1
                print("flaky called", attempts)  # must not reach stdout with --json
                if attempts < 3:
                    raise RuntimeError("Boom")
                return {"charged": order["amount"]}

            def refuse(order):
                raise ValueError("no stock")
            """
        ),
        encoding="utf-8",
    )
    definition = {
        "StartAt": "Charge",
        "States": {
            "Charge": {
                "Type": "Task",
                "Resource": f"{TASK}:charge",
                "Retry": [{"ErrorEquals": ["RuntimeError"], "IntervalSeconds": 30}],
                "ResultPath": "$.payment",
                "Next": "Ship",
            },
            "Ship": {
                "Type": "Task",
                "Resource": f"{TASK}:ship",
                "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.e", "Next": "Sorry"}],
                "End": True,
            },
            "Sorry": {"Type": "Pass", "End": True},
        },
    }
    write_json(tmp_path / "shop.json", definition)
    args = ["run", "shop.json", "--input", '{"amount": 42}', "--fast-waits"]
    args += ["--task", f"{TASK}:charge=shop_tasks:flaky"]
    args += ["--task", f"{TASK}:ship=shop_tasks:refuse"]

    trace = run_stepline(*args, cwd=tmp_path, pythonpath=lib)
    as_json = run_stepline(*args, "--json", cwd=tmp_path, pythonpath=lib)

    assert trace.returncode == 0, trace.stderr
    assert "↻ retry 1 after RuntimeError: Boom (waited 30s)" in trace.stdout
    assert "↻ retry 2 after RuntimeError: Boom (waited 1m 00s)" in trace.stdout
    assert "↪ caught ValueError: no stock → Sorry" in trace.stdout
    assert as_json.returncode == 0
    assert json.loads(as_json.stdout)["output"] == {
        "amount": 42,
        "payment": {"charged": 42},
        "e": {"Error": "ValueError", "Cause": "no stock"},
    }
    assert "flaky called 3" in as_json.stderr


@pytest.mark.parametrize(
    ("module", "spec", "expected"),
    [
        pytest.param(
            None, "nosuchmodule:fn", "there is no module named 'nosuchmodule'", id="module"
        ),
        pytest.param(
            "def other(p):\n    return p\n", "tasks_x:fn", "has no attribute 'fn'", id="attr"
        ),
        pytest.param(
            "import json\nraise KeyError('config')\n",
            "tasks_x:fn",
            "tasks_x.py, line 2: KeyError: 'config'",
            id="raises",
        ),
    ],
)
def test_task_that_cannot_be_imported_exits_2(
    tmp_path: Path, module: str | None, spec: str, expected: str
) -> None:
    if module is not None:
        (tmp_path / "tasks_x.py").write_text(module, encoding="utf-8")
    write_json(tmp_path / "m.json", pass_machine())

    proc = run_stepline(
        "run", "m.json", "--task", f"{TASK}={spec}", cwd=tmp_path, pythonpath=tmp_path
    )

    assert proc.returncode == 2
    assert proc.stdout == ""
    assert expected in proc.stderr


def test_unregistered_task_fails_and_says_how_to_register_one(tmp_path: Path) -> None:
    definition = {
        "StartAt": "Call",
        "States": {"Call": {"Type": "Task", "Resource": f"{TASK}:call", "End": True}},
    }
    write_json(tmp_path / "call.json", definition)

    proc = run_stepline("run", "call.json", cwd=tmp_path)

    assert proc.returncode == 1
    assert "✗ Call  Task" in proc.stdout
    assert "✗ States.Runtime: No task handler is registered" in proc.stdout
    assert "Error: States.Runtime" in proc.stdout
    assert f"--task '{TASK}:call=module:function'" in proc.stderr


# --- Map, Parallel, Wait ----------------------------------------------------------------------


def test_map_and_parallel_children_are_indented_and_waits_can_be_skipped(tmp_path: Path) -> None:
    definition = {
        "StartAt": "Fan",
        "States": {
            "Fan": {
                "Type": "Parallel",
                "Branches": [
                    {"StartAt": "Left", "States": {"Left": {"Type": "Pass", "End": True}}},
                    {
                        "StartAt": "Each",
                        "States": {
                            "Each": {
                                "Type": "Map",
                                "ItemsPath": "$.items",
                                "ItemProcessor": {
                                    "StartAt": "Item",
                                    "States": {"Item": {"Type": "Pass", "End": True}},
                                },
                                "End": True,
                            }
                        },
                    },
                ],
                "Next": "Nap",
            },
            "Nap": {"Type": "Wait", "Seconds": 3600, "End": True},
        },
    }
    write_json(tmp_path / "fan.json", definition)

    proc = run_stepline(
        "run", "fan.json", "--input", '{"items": ["a", "b"]}', "--fast-waits", cwd=tmp_path
    )

    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("✓ Fan  Parallel"))
    # Each line cut after the state's name: what is left is indentation, mark and name.
    children = [re.sub(r"(\S)  .*$", r"\1", line) for line in lines[start + 1 :]]
    assert children[:9] == [
        "  branch 1",
        "    ✓ Left",
        "  branch 2",
        "    ✓ Each",
        "      iteration 0",
        "        ✓ Item",
        "      iteration 1",
        "        ✓ Item",
        "✓ Nap",
    ]
    assert "2 branches" in lines[start]
    assert any(line.startswith("✓ Nap  Wait  1h 00m  ") for line in lines)
