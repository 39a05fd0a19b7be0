"""The README's commands are the ones CI runs; keep them real."""
import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _readme_command(name: str) -> str:
    spec = importlib.util.spec_from_file_location("readme_commands", ROOT / ".ci" / "readme_commands.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.readme_command(name)


def test_ci_runs_the_readme_commands():
    ci = (ROOT / ".ci" / "run").read_text()
    assert "readme_commands.py setup" in ci and "readme_commands.py test" in ci
    setup = _readme_command("setup")
    assert "sentae train recipes/quickstart.yaml" in setup
    for plugin in sorted((ROOT / "plugins").iterdir()):
        if (plugin / "pyproject.toml").exists():
            assert f"-e plugins/{plugin.name}" in setup, f"the README setup does not install {plugin.name}"
    assert "pytest" in _readme_command("test")


def test_quickstart_recipe_exists_and_validates():
    import sentae

    recipe = sentae.load_recipe(ROOT / "recipes" / "quickstart.yaml")
    assert recipe.model.type in {e.name for e in sentae.list_models()}
