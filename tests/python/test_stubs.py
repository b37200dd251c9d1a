"""The type stubs match the compiled module and the package (names, classes and their members)."""

import ast
import pathlib

import bowlrp
import bowlrp._bowlrp as core

PACKAGE = pathlib.Path(bowlrp.__file__).parent
ALIASES = {"PathLike", "Image", "Progress", "ClassArg", "Box"}


def stub(name):
    path = PACKAGE / name
    assert path.is_file(), f"{name} not next to the package"
    return ast.parse(path.read_text(), filename=str(path))


def members(cls_node):
    names = set()
    for node in cls_node.body:
        if isinstance(node, ast.AnnAssign):
            names.add(node.target.id)
        elif isinstance(node, ast.FunctionDef) and not node.name.startswith("_"):
            names.add(node.name)
    return names


def test_core_stub_matches_module():
    tree = stub("_bowlrp.pyi")
    classes = {n.name: n for n in tree.body if isinstance(n, ast.ClassDef) and not n.name.startswith("_")}
    functions = {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}
    variables = {n.target.id for n in tree.body if isinstance(n, ast.AnnAssign)} - ALIASES
    runtime = {n for n in dir(core) if not n.startswith("_")} | {"__version__"}
    assert set(classes) | functions | variables == runtime
    base = members(next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "_Options"))
    for name, node in classes.items():
        declared = members(node)
        if any(isinstance(b, ast.Name) and b.id == "_Options" for b in node.bases):
            declared |= base
        actual = {m for m in dir(getattr(core, name)) if not m.startswith("_")}
        assert declared == actual, (name, declared ^ actual)


def test_package_stub_matches_all():
    tree = stub("__init__.pyi")
    exported = set()
    for node in tree.body:
        if isinstance(node, ast.ImportFrom):
            exported |= {a.asname or a.name for a in node.names}
    assert exported == set(bowlrp.__all__)
    assert (PACKAGE / "py.typed").is_file()
