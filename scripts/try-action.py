#!/usr/bin/env python3
"""Runs the `run` steps of action.yml here, as a GitHub runner would, to try the action without
GitHub: `${{ inputs.X }}`, `${{ github.action_path }}` and `${{ steps.ID.outputs.Y }}` are
filled in, the `if:` conditions the action uses are evaluated, $GITHUB_OUTPUT and
$GITHUB_STEP_SUMMARY are files in a temporary folder, and a `uses` step (the artifact upload)
is only said, with its inputs. Prints each step, its output, and the summary at the end.

    /tmp/pc/bin/python scripts/try-action.py install=path paths=docs partition=hash:1/2

Needs PyYAML (see scripts/check-action.py) and, with install=path, sidebyside on PATH.
"""

import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


def main():
    action = yaml.safe_load((ROOT / "action.yml").read_text())
    inputs = {name: spec.get("default", "") for name, spec in action["inputs"].items()}
    for argument in sys.argv[1:]:
        name, _, value = argument.partition("=")
        if name not in inputs:
            sys.exit(f"unknown input `{name}`: the inputs are {', '.join(inputs)}")
        inputs[name] = value
    outputs = {}
    scratch = Path(tempfile.mkdtemp(prefix="try-action-"))
    summary = scratch / "summary.md"
    summary.touch()

    def fill(text):
        def value(match):
            expression = match.group(1).strip()
            if expression == "github.action_path":
                return str(ROOT)
            if expression.startswith("inputs."):
                return inputs[expression[len("inputs."):]]
            found = re.fullmatch(r"steps\.([\w-]+)\.outputs\.([\w-]+)", expression)
            if found:
                return outputs.get(found.group(1), {}).get(found.group(2), "")
            sys.exit(f"cannot evaluate ${{{{ {expression} }}}}")
        return re.sub(r"\$\{\{(.*?)\}\}", value, str(text))

    def condition(text):
        if text is None:
            return True
        text = text.replace("always() && ", "").replace("always()", "true")
        found = re.fullmatch(r"inputs\.([\w-]+) == '([^']*)'", text.strip())
        if found:
            return inputs[found.group(1)] == found.group(2)
        if text.strip() == "true":
            return True
        sys.exit(f"cannot evaluate if: {text}")

    status = 0
    for step in action["runs"]["steps"]:
        name = step.get("name", "step")
        if not condition(step.get("if")):
            print(f"── {name}: skipped")
            continue
        if "uses" in step:
            given = {key: fill(value) for key, value in step.get("with", {}).items()}
            print(f"── {name}: would run {step['uses']} with {given}")
            continue
        output_file = scratch / f"output-{step.get('id', 'step')}"
        output_file.write_text("")
        environment = dict(os.environ)
        environment.update({key: fill(value) for key, value in step.get("env", {}).items()})
        environment.update(GITHUB_OUTPUT=str(output_file), GITHUB_STEP_SUMMARY=str(summary))
        print(f"── {name}", flush=True)
        done = subprocess.run(["bash", "-e", "-c", fill(step["run"])], env=environment)
        if "id" in step:
            outputs[step["id"]] = dict(
                line.split("=", 1) for line in output_file.read_text().splitlines() if "=" in line
            )
        if done.returncode != 0:
            print(f"── {name}: exit status {done.returncode}")
            status = done.returncode
            break
    print(f"── outputs: {outputs}")
    print(f"── job summary ({summary}):")
    print(summary.read_text()[:2000])
    sys.exit(status)


if __name__ == "__main__":
    main()
