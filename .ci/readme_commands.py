"""Print the README command that follows a ``<!-- ci:NAME -->`` marker, so CI runs exactly what users read."""
import re
import sys
from pathlib import Path


def readme_command(name: str, readme: Path = Path(__file__).resolve().parents[1] / "README.md") -> str:
    text = readme.read_text(encoding="utf-8")
    match = re.search(rf"<!-- ci:{name} -->\s*```bash\n(.*?)\n```", text, re.S)
    if not match:
        raise SystemExit(f"README.md has no `<!-- ci:{name} -->` block")
    return match.group(1).strip()


if __name__ == "__main__":
    print(readme_command(sys.argv[1]))
