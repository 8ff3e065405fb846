"""Packaging and architecture rules that a refactor could silently break."""
from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_every_package_folder_is_installed():
    """A sub-package missing from pyproject's list works editable but vanishes from wheels."""
    config = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]
    mapping = config["package-dir"]
    listed = set(config["packages"])
    mapped = {(REPO / folder).resolve() for folder in mapping.values()}
    for package, folder in mapping.items():
        for init in (REPO / folder).rglob("__init__.py"):
            rel = init.parent.relative_to(REPO / folder)
            if rel.parts and init.parent.resolve() in mapped:
                continue  # a folder mapped to a package of its own (dashboard/_alabel is `alabel`)
            name = ".".join((package, *rel.parts)) if rel.parts else package
            assert name in listed, f"{name} ({init.parent}) is not listed in pyproject.toml packages"


def test_engine_imports_no_ui_library():
    code = (
        "import sys, pkgutil, importlib, alabel.core as c\n"
        "for m in pkgutil.walk_packages(c.__path__, 'alabel.core.'):\n"
        "    importlib.import_module(m.name)\n"
        "bad = [m for m in ('panel', 'bokeh', 'holoviews') if m in sys.modules]\n"
        "print(','.join(bad))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "", f"core imported {result.stdout.strip()}"


def test_cli_help_does_not_import_heavy_libraries():
    code = ("import sys\nfrom alabel.dashboard import cli\n"
            "try:\n    cli.main(['--help'])\nexcept SystemExit:\n    pass\n"
            "print('LOADED:' + ','.join(m for m in ('torch', 'panel', 'sklearn', 'pandas') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "usage: alabel" in result.stdout
    assert result.stdout.strip().splitlines()[-1] == "LOADED:"


def test_alabel_is_a_package_whose_import_loads_neither_the_engine_nor_panel():
    code = ("import sys, alabel\n"
            "print(callable(alabel.open), ','.join(m for m in ('panel', 'pandas', 'alabel.core.session') "
            "if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "True"


def test_pyproject_maps_alabel_to_dashboard_alabel_and_lists_no_second_copy():
    from setuptools.config.pyprojecttoml import read_configuration

    config = read_configuration(REPO / "pyproject.toml")["tool"]["setuptools"]
    assert config["package-dir"]["alabel"] == "dashboard/_alabel" and "alabel" in config["packages"]
    assert "alabel.dashboard._alabel" not in config["packages"]
