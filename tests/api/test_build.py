"""Tests of api/build.py on small source trees of their own."""
import importlib.util
import json
import pathlib
import shutil
import subprocess
import sys

import pytest
import yaml

BUILD = pathlib.Path(__file__).resolve().parents[2] / "api" / "build.py"
spec = importlib.util.spec_from_file_location("api_build", BUILD)
api_build = importlib.util.module_from_spec(spec)
spec.loader.exec_module(api_build)

BASE = {
    "openapi": "3.1.0",
    "info": {"title": "t", "version": "1"},
    "servers": [{"url": "http://localhost:1", "description": "one", "x-service": "one"},
                {"url": "http://localhost:2", "description": "two", "x-service": "two"}],
    "tags": [{"name": "one"}, {"name": "two"}],
    "paths": {"/healthz": {"get": {"tags": ["one", "two"],
                                   "responses": {"200": {"description": "ok"}}}}},
    "components": {
        "parameters": {"RequestId": {"name": "X-Request-Id", "in": "header",
                                     "schema": {"type": "string"}}},
        "headers": {"RequestId": {"schema": {"type": "string"}}},
        "responses": {name: {"description": name} for name in
                      ("NotFound", "InvalidJson", "InvalidParameter", "PayloadTooLarge",
                       "UnsupportedMediaType")},
    },
}


def op(tag, **extra):
    return {"tags": [tag], "responses": {"200": {"description": "ok"}}, **extra}


def tree(tmp_path, fragments, base=BASE):
    api = tmp_path / "api"
    (api / "common").mkdir(parents=True)
    (api / "common" / "thing.json").write_text(json.dumps({"type": "object"}))
    (api / "openapi-base.yaml").write_text(yaml.safe_dump(base))
    for service, frag in fragments.items():
        (api / service).mkdir()
        (api / service / "paths.yaml").write_text(yaml.safe_dump(frag))
    return tmp_path


def built(root):
    return yaml.safe_load(api_build.build(str(root)))


def test_merges_paths_and_adds_what_the_http_layer_does(tmp_path):
    body = {"required": True,
            "content": {"application/json": {"schema": {"$ref": "api/common/thing.json"}}}}
    root = tree(tmp_path, {
        "one": {"/a/{id}": {"get": op("one")},
                "/b": {"post": op("one", requestBody=body,
                                  responses={"400": {"description": "own"}})},
                "x-components": {"schemas": {"OneThing": {"type": "string"}}}},
        "two": {"/c": {"get": op("two")}},
    })
    doc = built(root)
    assert list(doc["paths"]) == ["/a/{id}", "/b", "/c", "/healthz"]
    assert doc["paths"]["/a/{id}"]["servers"] == [{"url": "http://localhost:1",
                                                   "description": "one"}]
    assert doc["paths"]["/c"]["servers"][0]["url"] == "http://localhost:2"
    assert "servers" not in doc["paths"]["/healthz"]
    assert doc["components"]["schemas"]["OneThing"] == {"type": "string"}
    a = doc["paths"]["/a/{id}"]["get"]["responses"]
    assert a["404"] == {"$ref": "#/components/responses/NotFound"}
    assert a["400"] == {"$ref": "#/components/responses/InvalidParameter"}
    assert "413" not in a
    b = doc["paths"]["/b"]["post"]["responses"]
    assert b["400"]["description"] == "own"
    assert b["413"] == {"$ref": "#/components/responses/PayloadTooLarge"}
    assert b["415"] == {"$ref": "#/components/responses/UnsupportedMediaType"}
    assert "404" not in b
    for path, item in doc["paths"].items():
        assert item["parameters"][0] == {"$ref": "#/components/parameters/RequestId"}, path
        for method in ("get", "post"):
            for status, resp in item.get(method, {}).get("responses", {}).items():
                if "$ref" not in resp:
                    assert resp["headers"]["X-Request-Id"] == {
                        "$ref": "#/components/headers/RequestId"}, (path, status)
    for name, resp in doc["components"]["responses"].items():
        assert "X-Request-Id" in resp["headers"], name


def test_output_is_deterministic_and_has_no_aliases(tmp_path):
    root = tree(tmp_path, {"one": {"/a/{id}": {"get": op("one")}, "/b/{id}": {"get": op("one")}}})
    first = api_build.build(str(root))
    assert first == api_build.build(str(root))
    assert "&id" not in first and "*id" not in first


@pytest.mark.parametrize("fragments, message", [
    ({"one": {"/a": {"get": op("two")}}}, "tags must include 'one'"),
    ({"one": {"/a": {"get": {"tags": ["one", "two"], "responses": {}}}}},
     "tagged with another service"),
    ({"one": {"/a": {"get": op("one")}}, "two": {"/a": {"post": op("two")}}},
     "defined twice"),
    ({"one": {"/healthz": {"post": op("one")}}}, "defined twice"),
    ({"one": {"/a": {"get": op("one")}, "x-components": {"responses": {"NotFound": {}}}}},
     "components/responses/NotFound is defined twice"),
    ({"one": {"/a": {"get": op("one", responses={"200": {"$ref": "api/one/missing.json"}})}}},
     "points nowhere"),
    ({"one": {"/a": {"get": op("one", responses={"200": {"$ref": "#/components/nothing"}})}}},
     "points nowhere"),
    ({"three": {"/a": {"get": op("three")}}}, "not a service tag"),
])
def test_refuses_inconsistent_sources(tmp_path, fragments, message):
    root = tree(tmp_path, fragments)
    with pytest.raises(api_build.BuildError, match=message):
        api_build.build(str(root))


def test_check_tells_whether_the_output_is_current(tmp_path):
    root = tree(tmp_path, {"one": {"/a": {"get": op("one")}}})
    shutil.copy(BUILD, root / "api" / "build.py")
    run = [sys.executable, str(root / "api" / "build.py")]
    assert subprocess.run(run + ["--check"], capture_output=True).returncode == 1
    assert subprocess.run(run, capture_output=True).returncode == 0
    assert subprocess.run(run + ["--check"], capture_output=True).returncode == 0
    frag = root / "api" / "one" / "paths.yaml"
    frag.write_text(frag.read_text().replace("ok", "fine"))
    stale = subprocess.run(run + ["--check"], capture_output=True, text=True)
    assert stale.returncode == 1 and "out of date" in stale.stderr
