"""environment.yml (conda users) and pyproject.toml (pip / `make`) must describe the same environment."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import yaml


ROOT = Path(__file__).resolve().parents[1]

# A requirement: name, optional [extras], optional version specifier (pip and conda share this shape
# for the simple `>=` pins the project uses).
_REQ = re.compile(r"^\s*(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[(?P<extras>[^\]]*)\])?\s*(?P<spec>[<>=!~].*)?$")


def _split(requirement: str) -> tuple[str, str]:
    """(normalised name, version specifier without spaces); extras are dropped (see below)."""
    m = _REQ.match(requirement)
    assert m, f"cannot read requirement {requirement!r}"
    name = re.sub(r"[-_.]+", "-", m["name"]).lower()
    return name, (m["spec"] or "").replace(" ", "")


def _pyproject() -> dict[str, str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    reqs = list(project["dependencies"])
    for extra in project.get("optional-dependencies", {}).values():
        reqs += extra
    return dict(_split(r) for r in reqs)


def _environment() -> tuple[dict, dict[str, str], list[str]]:
    """(the parsed file, conda+pip requirements by name, the pip entries as written)."""
    env = yaml.safe_load((ROOT / "environment.yml").read_text(encoding="utf-8"))
    reqs: dict[str, str] = {}
    pip_entries: list[str] = []
    for dep in env["dependencies"]:
        if isinstance(dep, dict):
            pip_entries += dep.get("pip", [])
            continue
        name, spec = _split(dep)
        reqs[name] = spec
    for entry in pip_entries:
        if not entry.startswith("-"):
            name, spec = _split(entry)
            reqs[name] = spec
    return env, reqs, pip_entries


def test_environment_installs_the_project_editable_with_python_311_or_later():
    env, reqs, pip_entries = _environment()
    assert "conda-forge" in env["channels"]
    assert "-e ." in pip_entries
    assert "pip" in reqs
    spec = reqs["python"]
    m = re.fullmatch(r">=3\.(\d+)", spec)
    assert m and int(m[1]) >= 11, f"python pin {spec!r} must be >=3.11 or later"


def test_environment_and_pyproject_list_the_same_dependencies_and_pins():
    # Extras such as dask[dataframe] are dropped: conda-forge's `dask` is the full distribution that
    # the extra names on PyPI.
    _, env_reqs, _ = _environment()
    env_reqs = {k: v for k, v in env_reqs.items() if k not in {"python", "pip"}}
    py_reqs = _pyproject()
    assert sorted(set(py_reqs) - set(env_reqs)) == [], "in pyproject.toml but not environment.yml"
    assert sorted(set(env_reqs) - set(py_reqs)) == [], "in environment.yml but not pyproject.toml"
    differing = {n: (py_reqs[n], env_reqs[n]) for n in py_reqs if py_reqs[n] != env_reqs[n]}
    assert differing == {}, "version pins differ (pyproject, environment.yml)"


def test_requirement_reader_normalises_names_and_drops_extras():
    # The comparison above is only as good as this reader.
    assert _split("dask[dataframe]>=2024.1") == ("dask", ">=2024.1")
    assert _split("charset_normalizer >= 3.3") == ("charset-normalizer", ">=3.3")
    assert _split("OpenCC") == ("opencc", "")
