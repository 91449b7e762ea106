"""The offline checks of the API contract: openapi.yaml is what api/build.py makes of its
sources, it is a valid OpenAPI 3.1 description, every JSON Schema in api/ is a valid schema
with examples that it accepts, and every example in openapi.yaml fits its schema.

Each check returns a short detail on success and raises CheckFailed otherwise."""
import glob
import json
import os
import pathlib
import subprocess
import sys
import urllib.parse

import yaml
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

ROOT = pathlib.Path(__file__).resolve().parents[2]
SPEC = ROOT / "openapi.yaml"


class CheckFailed(Exception):
    pass


def check_build():
    """api/build.py --check: openapi.yaml is current."""
    r = subprocess.run([sys.executable, str(ROOT / "api" / "build.py"), "--check"],
                       capture_output=True, text=True, timeout=60)
    if r.returncode != 0:
        raise CheckFailed((r.stderr or r.stdout).strip())
    return r.stdout.strip()


def check_build_tests():
    """The tests of api/build.py itself (pytest, tests/api/test_*.py)."""
    r = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                        str(ROOT / "tests" / "api")], capture_output=True, text=True,
                       timeout=300, cwd=ROOT)
    lines = r.stdout.strip().splitlines()
    if r.returncode != 0:
        raise CheckFailed(r.stdout[-4000:] + r.stderr[-2000:])
    return lines[-1] if lines else ""


def check_spec():
    """openapi-spec-validator over openapi.yaml and every file it refers to."""
    tool = os.path.join(os.path.dirname(sys.executable), "openapi-spec-validator")
    r = subprocess.run([tool, "--validation-errors", "all", "--subschema-errors", "all", str(SPEC)],
                       capture_output=True, text=True, timeout=120, cwd=ROOT)
    out = (r.stdout + r.stderr).strip()
    if r.returncode != 0:
        raise CheckFailed(out)
    return out


def _load_schema(uri):
    """A schema file with its $id made absolute, so relative $refs resolve to files."""
    path = uri.removeprefix("file://")
    with open(path, encoding="utf-8") as f:
        if path.endswith(".json"):
            doc = json.load(f)
        else:
            doc = yaml.safe_load(f)
    if isinstance(doc, dict):
        doc["$id"] = uri
    return doc


def _registry():
    def retrieve(uri):
        if not uri.startswith("file://"):
            raise CheckFailed(f"$ref to {uri}: only files of the repository are allowed")
        return Resource.from_contents(_load_schema(uri), default_specification=DRAFT202012)
    return Registry(retrieve=retrieve)


def _validator(schema, registry):
    return Draft202012Validator(schema, registry=registry,
                                format_checker=Draft202012Validator.FORMAT_CHECKER)


def _errors(validator, instance):
    return ["/".join(map(str, e.absolute_path)) + ": " + e.message
            for e in validator.iter_errors(instance)]


def check_schema_examples():
    """Every api/**/*.json is a valid 2020-12 schema whose examples it accepts."""
    files = sorted(glob.glob(str(ROOT / "api" / "**" / "*.json"), recursive=True))
    if not files:
        raise CheckFailed("no JSON Schema files under api/")
    registry = _registry()
    problems, count = [], 0
    for file in files:
        rel = os.path.relpath(file, ROOT)
        try:
            schema = _load_schema(pathlib.Path(file).as_uri())
            Draft202012Validator.check_schema(schema)
        except Exception as e:  # a bad file is one problem, not the end of the check
            problems.append(f"{rel}: {e}")
            continue
        examples = schema.get("examples")
        if not isinstance(examples, list) or not examples:
            problems.append(f"{rel}: has no examples")
            continue
        v = _validator(schema, registry)
        for i, example in enumerate(examples):
            count += 1
            problems += [f"{rel} examples[{i}] {err}" for err in _errors(v, example)]
    if problems:
        raise CheckFailed("\n".join(problems))
    return f"{len(files)} schemas, {count} examples"


def _spec_examples(node, trail=""):
    """(trail, pointer of the schema, example) for every example openapi.yaml gives: next to a
    schema (a parameter's, header's or media type's example and examples) or in one (example,
    and the JSON Schema keyword examples)."""
    if isinstance(node, dict):
        schema = node.get("schema")
        if isinstance(schema, dict):
            if "example" in node:
                yield trail, f"{trail}/schema", node["example"]
            examples = node.get("examples")
            for name, ex in (examples.items() if isinstance(examples, dict) else ()):
                if isinstance(ex, dict) and "value" in ex:
                    yield f"{trail}/examples/{name}", f"{trail}/schema", ex["value"]
        else:
            if "example" in node and not isinstance(node.get("example"), dict):
                yield f"{trail}/example", trail, node["example"]
            examples = node.get("examples")
            for i, ex in enumerate(examples if isinstance(examples, list) else ()):
                yield f"{trail}/examples/{i}", trail, ex
        for key, value in node.items():
            key = str(key).replace("~", "~0").replace("/", "~1")
            yield from _spec_examples(value, f"{trail}/{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _spec_examples(value, f"{trail}/{i}")


def check_spec_examples():
    """Every example of a parameter, header or body in openapi.yaml fits its schema, each schema
    resolved inside the document (which holds every schema under components/schemas)."""
    with open(SPEC, encoding="utf-8") as f:
        spec = yaml.safe_load(f)
    base = SPEC.as_uri()
    registry = _registry().with_resource(
        base, Resource.from_contents({**spec, "$id": base}, default_specification=DRAFT202012))
    problems, count = [], 0
    for part in ("paths", "components"):
        for trail, pointer, example in _spec_examples(spec.get(part, {}), f"/{part}"):
            count += 1
            ref = {"$ref": base + "#" + urllib.parse.quote(pointer, safe="/~")}
            problems += [f"openapi.yaml{trail}: {e}" for e in
                         _errors(_validator(ref, registry), example)]
    if problems:
        raise CheckFailed("\n".join(problems))
    return f"{count} examples"
