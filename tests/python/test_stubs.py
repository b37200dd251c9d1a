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


def fields(cls_node, src):
    """(name, annotation) of a stub class's annotated attributes and of its __init__ keywords, in order."""
    attrs = [(n.target.id, ast.get_source_segment(src, n.annotation)) for n in cls_node.body if isinstance(n, ast.AnnAssign)]
    init = next(n for n in cls_node.body if isinstance(n, ast.FunctionDef) and n.name == "__init__")
    keywords = [(a.arg, ast.get_source_segment(src, a.annotation)) for a in init.args.kwonlyargs]
    return attrs, keywords


def test_option_stubs_match_the_library_schema_field_by_field():
    """Each options class made from a library schema (FitOptions: model::FitOptions::schema(); Rules:
    decompose::Composite::schema(); ExplainOptions; QualityOptions; SprayOptions; SprayImagesOptions;
    VocProtocolOptions; FolderEvaluationOptions; HeatmapOptions: render::HeatmapOptions::schema()) lists exactly its schema in the stub: the same names in the
    same order with the annotation of each option's type, as attributes and as keywords."""
    path = PACKAGE / "_bowlrp.pyi"
    src = path.read_text()
    tree = ast.parse(src)
    classes = {n.name: n for n in tree.body if isinstance(n, ast.ClassDef)}
    own = {"FitOptions": core.FitOptions, "Rules": core.Rules, "ExplainOptions": core.ExplainOptions,
           "QualityOptions": core.QualityOptions, "SprayOptions": core.SprayOptions,
           "SprayImagesOptions": core.SprayImagesOptions, "VocProtocolOptions": core.VocProtocolOptions,
           "FolderEvaluationOptions": core.FolderEvaluationOptions, "HeatmapOptions": core.HeatmapOptions}
    for name, cls in own.items():
        schema = [(o["name"], o["type"]) for o in cls.schema()]
        assert [n for n, _ in schema] == cls.names(), name
        attrs, keywords = fields(classes[name], src)
        extra = {"spray"} if name == "SprayImagesOptions" else set()  # a whole SprayOptions, besides the flat options
        assert [f for f in attrs if f[0] not in extra] == schema, name
        assert [f for f in keywords if f[0] not in extra] == schema, name
        # Each option's default reads back as itself; each has help and, where it has a flag, a -- flag.
        defaults = cls.defaults()
        for o in cls.schema():
            assert o["default"] == defaults[o["name"]], (name, o["name"])
            assert o["help"], (name, o["name"])
            assert o["flag"] == "" or o["flag"].startswith("--"), (name, o["name"])
