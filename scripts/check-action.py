#!/usr/bin/env python3
"""Checks action.yml against GitHub's metadata syntax for actions, as documented
(docs.github.com, "Metadata syntax reference"), for a composite action:

- `name` and `description` are required strings; `author` is an optional string;
  `branding` has only `icon` and `color`;
- every input has a `description`, and only `description`, `required`, `default` and
  `deprecationMessage`; defaults are strings;
- every output of a composite action has a `value` (and may have a `description`);
- `runs.using` is `composite` and `runs.steps` is a list; a step has either `run` (and then
  a `shell`) or `uses` (and then no `shell`), and only the keys a composite step may have;
- every `${{ inputs.X }}` and `${{ steps.ID.outputs.Y }}` names an input or an earlier step's
  id that exists.

Needs PyYAML (pre-commit installs it: `python3 -m venv /tmp/pc && /tmp/pc/bin/pip install
pre-commit`, then `/tmp/pc/bin/python scripts/check-action.py`). Exits 1 listing what is wrong.
"""

import re
import sys
from pathlib import Path

import yaml

STEP_KEYS = {"id", "if", "name", "run", "shell", "uses", "with", "env",
             "working-directory", "continue-on-error"}
INPUT_KEYS = {"description", "required", "default", "deprecationMessage"}


def check(path):
    problems = []
    # GitHub reads `on`-like words as strings; PyYAML's safe loader is close enough here
    # (the file uses no YAML 1.1 booleans as keys).
    action = yaml.safe_load(Path(path).read_text())
    if not isinstance(action, dict):
        return [f"{path}: not a mapping"]
    for key in ("name", "description"):
        if not isinstance(action.get(key), str) or not action[key].strip():
            problems.append(f"`{key}` is required and must be a string")
    allowed = {"name", "author", "description", "inputs", "outputs", "runs", "branding"}
    for key in action:
        if key not in allowed:
            problems.append(f"unknown top-level key `{key}`")
    branding = action.get("branding", {})
    for key in branding:
        if key not in ("icon", "color"):
            problems.append(f"unknown branding key `{key}`")
    inputs = action.get("inputs", {}) or {}
    for name, spec in inputs.items():
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_-]*", name):
            problems.append(f"input id `{name}` must start with a letter or _ and hold only letters, digits, - and _")
        if not isinstance(spec, dict) or "description" not in spec:
            problems.append(f"input `{name}` needs a description")
            continue
        for key in spec:
            if key not in INPUT_KEYS:
                problems.append(f"input `{name}`: unknown key `{key}`")
        if "default" in spec and not isinstance(spec["default"], str):
            problems.append(f"input `{name}`: the default must be a string (quote it)")
    runs = action.get("runs", {})
    if runs.get("using") != "composite":
        problems.append("`runs.using` must be `composite` for this action")
    steps = runs.get("steps")
    if not isinstance(steps, list) or not steps:
        problems.append("`runs.steps` must be a non-empty list")
        steps = []
    ids = []
    for number, step in enumerate(steps, 1):
        where = f"step {number} ({step.get('name', 'unnamed')})"
        for key in step:
            if key not in STEP_KEYS:
                problems.append(f"{where}: unknown key `{key}`")
        if ("run" in step) == ("uses" in step):
            problems.append(f"{where}: a step has exactly one of `run` and `uses`")
        if "run" in step and "shell" not in step:
            problems.append(f"{where}: a `run` step of a composite action needs `shell`")
        if "uses" in step and "shell" in step:
            problems.append(f"{where}: a `uses` step takes no `shell`")
        text = yaml.safe_dump(step)
        for name in re.findall(r"inputs\.([A-Za-z0-9_-]+)", text):
            if name not in inputs:
                problems.append(f"{where}: names input `{name}`, which is not declared")
        for name in re.findall(r"steps\.([A-Za-z0-9_-]+)\.outputs", text):
            if name not in ids:
                problems.append(f"{where}: names step `{name}`, which is not an earlier step's id")
        if "id" in step:
            ids.append(step["id"])
    for name, spec in (action.get("outputs", {}) or {}).items():
        if not isinstance(spec, dict) or "value" not in spec:
            problems.append(f"output `{name}` of a composite action needs a `value`")
            continue
        for step in re.findall(r"steps\.([A-Za-z0-9_-]+)\.outputs", spec["value"]):
            if step not in ids:
                problems.append(f"output `{name}` names step `{step}`, which has no such id")
    return problems


def main():
    path = sys.argv[1] if len(sys.argv) > 1 else str(Path(__file__).resolve().parent.parent / "action.yml")
    problems = check(path)
    for problem in problems:
        print(f"{path}: {problem}", file=sys.stderr)
    if problems:
        sys.exit(1)
    print(f"{path}: follows the metadata syntax of a composite action")


if __name__ == "__main__":
    main()
