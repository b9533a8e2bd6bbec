"""GeoReport v2 answers in JSON or XML, and errors in the spec's form.

The same Python structure (lists of dicts of scalars) is rendered either way; the XML element names
follow the spec's examples: ``<services><service>``, ``<service_requests><request>``,
``<errors><error>``, ``<discovery>`` with ``<endpoints><endpoint>`` and ``<formats><format>``.
"""

import json
import re
from xml.etree import ElementTree

from django.http import HttpResponse

JSON_TYPE = "application/json; charset=utf-8"
XML_TYPE = "text/xml; charset=utf-8"
FORMATS = ("json", "xml")

# Element name of each item of a list-valued field in XML.
ITEM_NAMES = {
    "endpoints": "endpoint",
    "formats": "format",
    "attributes": "attribute",
    "values": "value",
}

# XML 1.0 cannot carry these characters at all, not even escaped: drop them rather than fail.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _text(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return _NOT_XML.sub("", str(value))


def _fill(element: ElementTree.Element, value, name: str) -> None:
    if value is None:
        return  # an empty element, as in the spec's examples (<status_notes/>)
    if isinstance(value, dict):
        for key, child in value.items():
            _fill(ElementTree.SubElement(element, key), child, key)
    elif isinstance(value, list | tuple):
        item_name = ITEM_NAMES.get(name, "item")
        for child in value:
            _fill(ElementTree.SubElement(element, item_name), child, item_name)
    else:
        element.text = _text(value)


def to_xml(data, root: str, item: str | None = None) -> bytes:
    """``data`` under ``<root>``: a list's items each as ``<item>``, a dict's keys as child elements."""
    element = ElementTree.Element(root)
    if isinstance(data, list):
        for child in data:
            _fill(ElementTree.SubElement(element, item or "item"), child, item or "item")
    else:
        _fill(element, data, root)
    return ElementTree.tostring(element, encoding="utf-8", xml_declaration=True)


def render(data, fmt: str, *, root: str, item: str | None = None, status: int = 200) -> HttpResponse:
    if fmt == "xml":
        return HttpResponse(to_xml(data, root, item), content_type=XML_TYPE, status=status)
    body = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return HttpResponse(body, content_type=JSON_TYPE, status=status)


def error(fmt: str, status: int, description: str, **headers) -> HttpResponse:
    """The spec's error answer: a list of ``{code, description}`` with the HTTP status as the code."""
    response = render(
        [{"code": status, "description": description}], fmt, root="errors", item="error", status=status
    )
    for name, value in headers.items():
        response[name] = value
    return response
