"""Validation of our answers against the published GeoReport v2 JSON Schemas in ``../shared/data/open311``.

The schema files are not ours to copy into the repository (no licence stated), so they are read where
they are, and the tests that need them skip cleanly when they are absent. ``services.json`` and
``requests.json`` refer to their item schemas by relative ``$ref`` ("service.json"), and none has an
``$id``: each file is registered under its own file URI so those refs resolve against the folder.
"""

import datetime as dt
import functools
import json
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from jsonschema import Draft4Validator, Draft7Validator, FormatChecker
from referencing import Registry
from referencing.jsonschema import DRAFT4, DRAFT7

SCHEMA_DIR = Path(settings.BASE_DIR).parent / "shared" / "data" / "open311"
SCHEMAS = ("request.json", "requests.json", "service.json", "services.json", "service-definition.json")

# jsonschema checks "date-time" and "uri" only with optional packages; these checks are explicit.
FORMATS = FormatChecker()


@FORMATS.checks("date-time", raises=ValueError)
def _is_datetime(value) -> bool:
    if not isinstance(value, str):
        return True
    # RFC 3339 wants the full date, the time and an offset.
    return "T" in value and dt.datetime.fromisoformat(value).tzinfo is not None


@FORMATS.checks("uri")
def _is_uri(value) -> bool:
    if not isinstance(value, str):
        return True
    parts = urlsplit(value)
    return bool(parts.scheme and parts.netloc)


def _require_schemas() -> None:
    missing = [name for name in (*SCHEMAS, "swagger.json") if not (SCHEMA_DIR / name).is_file()]
    if missing:
        pytest.skip(f"Open311 schemas not found in {SCHEMA_DIR}: {', '.join(missing)}")


@functools.cache
def registry() -> Registry:
    # The item schemas declare no $schema; they use draft-4-era keywords valid in draft 7 too.
    resources = [
        ((SCHEMA_DIR / name).as_uri(), DRAFT7.create_resource(json.loads((SCHEMA_DIR / name).read_text())))
        for name in SCHEMAS
    ]
    # Swagger 2.0 definitions are a draft-4 subset.
    swagger = DRAFT4.create_resource(json.loads((SCHEMA_DIR / "swagger.json").read_text()))
    return Registry().with_resources([*resources, ((SCHEMA_DIR / "swagger.json").as_uri(), swagger)])


def validate(instance, name: str) -> None:
    """Validate against one of the schema files, e.g. ``validate(body, "requests.json")``."""
    _require_schemas()
    schema = {"$ref": (SCHEMA_DIR / name).as_uri()}
    Draft7Validator(schema, registry=registry(), format_checker=FORMATS).validate(instance)


def validate_swagger(instance, definition: str) -> None:
    """Validate against a definition of swagger.json (RequestResponse, TokenResponse …).

    Swagger 2.0 cannot say "or null"; the wiki's own example answers ``"account_id": null``, so null
    values are left out before validating.
    """
    _require_schemas()
    if isinstance(instance, dict):
        instance = {key: value for key, value in instance.items() if value is not None}
    schema = {"$ref": f"{(SCHEMA_DIR / 'swagger.json').as_uri()}#/definitions/{definition}"}
    Draft4Validator(schema, registry=registry(), format_checker=FORMATS).validate(instance)
