"""environment.yml (conda) and pyproject.toml (pip) must name the same packages and bounds."""

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# conda-forge names that differ from the PyPI names
CONDA_NAME = {"duckdb": "python-duckdb"}


def _split(req: str) -> tuple[str, str]:
    m = re.match(r"^\s*([A-Za-z0-9_.\-]+)\s*(.*)$", req)
    return m.group(1).lower(), m.group(2).replace(" ", "")


def pip_requirements() -> dict[str, str]:
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    reqs = list(meta["dependencies"]) + list(meta["optional-dependencies"]["test"])
    out = {}
    for r in reqs:
        name, spec = _split(r)
        out[CONDA_NAME.get(name, name)] = spec
    out["python"] = meta["requires-python"].replace(" ", "")
    return out


def conda_requirements() -> dict[str, str]:
    out = {}
    in_deps = False
    for line in (ROOT / "environment.yml").read_text().splitlines():
        if line.startswith("dependencies:"):
            in_deps = True
            continue
        m = re.match(r"^  - ([^\s:]+)\s*$", line)
        if in_deps and m and m.group(1) != "pip":
            name, spec = _split(m.group(1))
            out[name] = spec
    return out


def test_same_packages_and_bounds():
    pip, conda = pip_requirements(), conda_requirements()
    assert set(conda) == set(pip), (
        f"only in environment.yml: {sorted(set(conda) - set(pip))}; "
        f"only in pyproject.toml: {sorted(set(pip) - set(conda))}")
    differ = {k: (pip[k], conda[k]) for k in pip if pip[k] != conda[k]}
    assert not differ, f"version bounds differ (pyproject, environment.yml): {differ}"


def test_lower_bounds_named_by_the_brief():
    pip = pip_requirements()
    for name, bound in {"pandas": ">=3.0", "numpy": ">=2.0", "seaborn": ">=0.13",
                        "statsmodels": ">=0.15", "mlxtend": ">=0.25"}.items():
        assert pip[name] == bound


def test_constraints_pin_every_direct_dependency_exactly():
    pins = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        if "==" in line:
            name, version = line.split("==", 1)
            pins[name.strip().lower().replace("_", "-")] = version.strip()
    reverse = {v: k for k, v in CONDA_NAME.items()}
    for name in pip_requirements():
        if name == "python":
            continue
        assert reverse.get(name, name) in pins, f"{name} is not pinned in constraints.txt"


def test_code_is_ruff_clean():
    import subprocess
    import sys

    res = subprocess.run([sys.executable, "-m", "ruff", "check", "--output-format", "concise",
                          "src", "tests", "benchmarks"], cwd=ROOT, capture_output=True, text=True,
                         check=False)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-1000:]


def test_make_lab_listens_on_localhost_with_a_token_and_starts_as_root():
    import os
    import subprocess

    out = subprocess.run(["make", "--no-print-directory", "-n", "lab"], cwd=ROOT,
                         capture_output=True, text=True, check=True).stdout
    cmd = next(line for line in out.splitlines() if "jupyter lab" in line)
    assert "jupyter lab --ip 127.0.0.1" in cmd and "--no-browser" in cmd
    assert "token" not in cmd  # JupyterLab's own token stays on
    assert ("--allow-root" in cmd) == (os.getuid() == 0)
