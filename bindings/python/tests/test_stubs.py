"""The committed stubs (`_native.pyi`) match the built module: every public
name, class member and async-ness."""

import ast
import inspect
from pathlib import Path

import authflow
from authflow import _native

STUB = Path(authflow.__file__).with_name("_native.pyi")


def stub_tree() -> ast.Module:
    return ast.parse(STUB.read_text())


def test_stub_ships_with_the_package() -> None:
    assert STUB.is_file()
    assert Path(authflow.__file__).with_name("py.typed").is_file()


def test_names_match() -> None:
    tree = stub_tree()
    stubbed = {
        n.name for n in tree.body if isinstance(n, (ast.ClassDef, ast.FunctionDef))
    }
    public = {n for n in dir(_native) if not n.startswith("_")}
    assert stubbed == public
    assert set(authflow.__all__) == public


def test_members_match() -> None:
    for node in stub_tree().body:
        if not isinstance(node, ast.ClassDef) or node.name == "AuthflowError":
            continue
        cls = getattr(_native, node.name)
        methods = {
            n.name for n in node.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))
        }
        stubbed = {n for n in methods if not n.startswith("_")}
        actual = {n for n in vars(cls) if not n.startswith("_")}
        assert stubbed == actual, node.name
        # Protocol methods the stubs declare (`__aiter__`, ...) exist too.
        for dunder in methods - stubbed - {"__new__"}:
            assert dunder in vars(cls), f"{node.name}.{dunder}"


def test_error_attributes_documented() -> None:
    node = next(
        n for n in stub_tree().body if isinstance(n, ast.ClassDef) and n.name == "AuthflowError"
    )
    attrs = {n.target.id for n in node.body if isinstance(n, ast.AnnAssign) and isinstance(n.target, ast.Name)}
    assert attrs == {"code", "status", "request_id", "detail", "retryable"}


def test_functions_are_callable() -> None:
    for name in ("totp_now", "totp_at"):
        assert callable(getattr(_native, name))
    assert not inspect.iscoroutinefunction(_native.totp_now)
