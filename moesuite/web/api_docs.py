"""The API reference page (/docs), rendered on the server from the generated OpenAPI document.

FastAPI's own docs page loads Swagger UI from a CDN, so on an offline site (where fraud teams run
the suite) it shows nothing; this page needs no network and no JavaScript.
"""

from __future__ import annotations

from typing import Any

_METHODS = ("get", "post", "put", "patch", "delete")


def _type(schema: dict[str, Any]) -> str:
    if "$ref" in schema:
        return schema["$ref"].rsplit("/", 1)[-1]
    if "anyOf" in schema:
        return " | ".join(_type(s) for s in schema["anyOf"])
    if schema.get("type") == "array":
        return f"array of {_type(schema.get('items', {}))}"
    if "enum" in schema:
        return " | ".join(repr(v) for v in schema["enum"])
    return str(schema.get("type", "any"))


def describe_openapi(document: dict[str, Any]) -> dict[str, Any]:
    """Template values for api_docs.html: operations grouped by tag, and the schemas' fields."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for path, item in document.get("paths", {}).items():
        for method in _METHODS:
            op = item.get(method)
            if op is None:
                continue
            body = op.get("requestBody", {}).get("content", {})
            body_type = ", ".join(
                f"{kind}: {_type(c.get('schema', {}))}" for kind, c in body.items()
            )
            groups.setdefault((op.get("tags") or ["other"])[0], []).append(
                {
                    "method": method.upper(),
                    "path": path,
                    "summary": op.get("summary", ""),
                    "description": op.get("description", ""),
                    "parameters": [
                        {
                            "name": p["name"],
                            "where": p.get("in", ""),
                            "required": p.get("required", False),
                            "type": _type(p.get("schema", {})),
                        }
                        for p in op.get("parameters", [])
                    ],
                    "body": body_type,
                    "responses": [
                        (code, r.get("description", ""))
                        for code, r in op.get("responses", {}).items()
                    ],
                }
            )
    schemas = []
    for name, schema in sorted(document.get("components", {}).get("schemas", {}).items()):
        required = set(schema.get("required", []))
        fields = [
            (field, _type(sub), field in required)
            for field, sub in schema.get("properties", {}).items()
        ]
        schemas.append((name, fields))
    info = document.get("info", {})
    return {
        "title": info.get("title", ""),
        "version": info.get("version", ""),
        "summary": info.get("summary", ""),
        "openapi_version": document.get("openapi", ""),
        "groups": sorted(groups.items()),
        "schemas": schemas,
    }
