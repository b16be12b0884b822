"""URL_ENCODED bodies: the spec's form example, the four array formats, scalars and escapes."""

from __future__ import annotations

from typing import Any

import pytest
from _http_kit import build, connection, params

from stepline.tasks._http_encoding import encode_component, form_encode, scalar_text

FORM = {"RequestBodyEncoding": "URL_ENCODED"}


def form_body(body: Any, array_format: str | None = None, conn: Any = None) -> str:
    transform: dict[str, Any] = dict(FORM)
    if array_format is not None:
        transform["RequestEncodingOptions"] = {"ArrayFormat": array_format}
    request = build(params(Method="POST", RequestBody=body, Transform=transform), conn).request
    assert request.body is not None
    return request.body.decode("ascii")


def test_the_form_example_of_the_spec() -> None:
    # §3.7: the path-resolved key came out last; stepline keeps the effective parameters'
    # order, so the body is given here in the order the example shows.
    conn = connection(authorization=(("Authorization", "Basic dXNlcjpwYXNz"),))
    request = build(
        params(
            Method="POST",
            ApiEndpoint="https://api.example.com/v1/charges",
            Headers={"Content-Type": "application/x-www-form-urlencoded"},
            RequestBody={"note": "Order 7", "meta": {"ref": "A 1"}, "amount": "250"},
            Transform={
                "RequestBodyEncoding": "URL_ENCODED",
                "RequestEncodingOptions": {"ArrayFormat": "INDICES"},
            },
        ),
        conn,
    ).request
    assert request.body == b"note=Order%207&meta%5Bref%5D=A%201&amount=250"
    assert request.url == "https://api.example.com/v1/charges"
    assert [h for h in request.headers if h[0].lower() == "content-type"] == [
        ("Content-Type", "application/x-www-form-urlencoded")
    ]
    assert ("Authorization", "Basic dXNlcjpwYXNz") in request.headers


def test_form_keys_follow_the_effective_parameters_order() -> None:
    body = {"amount": "250", "note": "Order 7", "meta": {"ref": "A 1"}}
    assert form_body(body) == "amount=250&note=Order%207&meta%5Bref%5D=A%201"


TAGS = {"tags": ["red", "green", "blue"]}


@pytest.mark.parametrize(
    ("array_format", "logical"),
    [
        ("INDICES", "tags[0]=red&tags[1]=green&tags[2]=blue"),
        ("REPEAT", "tags=red&tags=green&tags=blue"),
        ("COMMAS", "tags=red,green,blue"),
        ("BRACKETS", "tags[]=red&tags[]=green&tags[]=blue"),
    ],
)
def test_the_array_format_table(array_format: str, logical: str) -> None:
    wire = logical.replace("[", "%5B").replace("]", "%5D")
    assert form_body(TAGS, array_format) == wire


def test_indices_is_the_default_array_format() -> None:
    assert form_body(TAGS) == "tags%5B0%5D=red&tags%5B1%5D=green&tags%5B2%5D=blue"


def test_commas_keep_separators_literal_and_encode_commas_inside_elements() -> None:
    assert form_body({"t": ["a,b", "c d"]}, "COMMAS") == "t=a%2Cb,c%20d"


def test_commas_fall_back_to_indices_for_arrays_of_objects() -> None:
    assert form_body({"t": [{"a": 1}]}, "COMMAS") == "t%5B0%5D%5Ba%5D=1"


@pytest.mark.parametrize(
    ("array_format", "expected"),
    [
        ("INDICES", "items[0][sku]=a&items[0][qty]=1&items[1][sku]=b"),
        ("BRACKETS", "items[][sku]=a&items[][qty]=1&items[][sku]=b"),
        ("REPEAT", "items[sku]=a&items[qty]=1&items[sku]=b"),
    ],
)
def test_arrays_of_objects_recurse_with_brackets(array_format: str, expected: str) -> None:
    body = {"items": [{"sku": "a", "qty": 1}, {"sku": "b"}]}
    wire = expected.replace("[", "%5B").replace("]", "%5D")
    assert form_body(body, array_format) == wire


def test_nested_arrays_recurse() -> None:
    assert (
        form_body({"m": [[1, 2], [3]]}) == "m%5B0%5D%5B0%5D=1&m%5B0%5D%5B1%5D=2&m%5B1%5D%5B0%5D=3"
    )


def test_scalars_are_their_json_text_and_null_is_empty() -> None:
    body = {"i": 2, "f": 2.5, "big": 2**70, "t": True, "n": None, "s": ""}
    assert form_body(body) == f"i=2&f=2.5&big={2**70}&t=true&n=&s="


def test_empty_arrays_and_objects_produce_nothing() -> None:
    assert form_body({"a": [], "b": {}, "c": "1"}) == "c=1"


def test_unreserved_characters_are_kept_and_everything_else_is_escaped() -> None:
    assert form_body({"k-._~": "-._~ !*'()+/=&?é😀"}) == (
        "k-._~=-._~%20%21%2A%27%28%29%2B%2F%3D%26%3F%C3%A9%F0%9F%98%80"
    )


def test_connection_body_parameters_are_merged_before_encoding() -> None:
    conn = connection(body=(("grant_type", "client credentials"), ("note", "conn")))
    assert form_body({"note": "mine", "x": "1"}, conn=conn) == (
        "note=conn&x=1&grant_type=client%20credentials"
    )


def test_helpers() -> None:
    assert encode_component("a b[c]") == "a%20b%5Bc%5D"
    assert scalar_text(None) == "" and scalar_text(False) == "false" and scalar_text(1.0) == "1.0"
    assert form_encode({"a": {"b": ["x"]}}, "BRACKETS") == "a%5Bb%5D%5B%5D=x"
