"""The layout stays as DESIGN section 5 draws it: small modules, and no two modules importing each other.

An import is counted wherever it is written (at the top, inside a function, under ``TYPE_CHECKING``): an import
moved into a function to dodge a cycle is still the cycle.
"""
import ast
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LIMIT = 500


def _modules() -> dict[str, Path]:
    found = {}
    for path in (ROOT / "tracker").rglob("*.py"):
        parts = path.relative_to(ROOT).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


def _imports(modules: dict[str, Path]) -> dict[str, set[str]]:
    """Module -> the tracker modules it imports (``from tracker.x import y`` names module ``tracker.x.y`` when
    there is one, else ``tracker.x``)."""
    edges = defaultdict(set)
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            targets = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join(anchor + ([base] if base else []))
                targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base
                           for alias in node.names]
            for target in targets:
                while target and target not in modules:
                    target = target.rpartition(".")[0]
                if target and target != name:
                    edges[name].add(target)
    return edges


def test_no_module_of_the_tracker_is_over_500_lines():
    long = {name: n for name, path in _modules().items()
            if (n := len(path.read_text(encoding="utf-8").splitlines())) > LIMIT}
    assert long == {}


def test_no_two_modules_import_each_other():
    edges = _imports(_modules())
    pairs = sorted({tuple(sorted((a, b))) for a, targets in edges.items() for b in targets if a in edges.get(b, ())})
    assert pairs == []


def test_no_two_feature_packages_import_each_other():
    """``tracker.funding`` may use ``tracker.registry``, or the reverse, never both."""
    edges = _imports(_modules())
    top = {}
    for a, targets in edges.items():
        for b in targets:
            pa, pb = ".".join(a.split(".")[:2]), ".".join(b.split(".")[:2])
            if pa != pb:
                top.setdefault((pa, pb), (a, b))
    both = sorted({tuple(sorted(pair)): (top[pair], top[pair[::-1]]) for pair in top if pair[::-1] in top}.items())
    assert both == []


def test_the_checks_above_see_a_cycle_when_there_is_one(tmp_path, monkeypatch):
    """The import reader finds both kinds of import, so that the tests above cannot pass by seeing nothing."""
    package = tmp_path / "tracker" / "feature"
    package.mkdir(parents=True)
    (tmp_path / "tracker" / "__init__.py").write_text("")
    (package / "__init__.py").write_text("from tracker.feature.blueprint import bp\nfrom . import routes\n")
    (package / "blueprint.py").write_text("bp = object()\n")
    (package / "routes.py").write_text("def view():\n    from tracker.feature import bp\n")
    monkeypatch.setattr(__import__(__name__, fromlist=["ROOT"]), "ROOT", tmp_path)
    edges = _imports(_modules())
    assert edges["tracker.feature"] == {"tracker.feature.blueprint", "tracker.feature.routes"}
    assert edges["tracker.feature.routes"] == {"tracker.feature"}
