"""`--format` templates: what docker 28 prints for the same template on the same fields (observed with
`docker ps --format …` on a container named fmt-probe), and the refusals that keep templates safe."""

from __future__ import annotations

import pytest

from bot.render.template import MAX_DEPTH, Struct, TemplateError, parse, tabwrite

HEADERS = {"ID": "CONTAINER ID", "Names": "NAMES", "State": "STATE", "Labels": "LABELS"}
ROW = Struct(
    "*formatter.ContainerContext",
    {"ID": "c9076de365ab", "Names": "fmt-probe", "State": "running", "Labels": "a=b,c=<!channel>"},
    {"Label": lambda key: {"a": "b"}.get(key, "")},
    HEADERS,
    sort=True,
)


def run(text: str, items: list[Struct] | None = None) -> str:
    return parse(text).render([ROW] if items is None else items)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{{.Names}} {{"x\\"y"}} {{`raw`}} {{42}}', 'fmt-probe x"y raw 42'),
        ('{{join (split .Names "-") ","}}', "fmt,probe"),
        ("{{title .State}}|{{pad .State 2 1}}|", "Running|  running |"),
        ("{{println .Names}}", "fmt-probe\n"),
        ("{{.Names}} {{if .Names}}y{{end}}", "fmt-probe y"),
        ("{{ .Names }}", "fmt-probe"),
        ("{{- .Names -}} x", "fmt-probex"),
        ("{{json .Names}}", '"fmt-probe"'),
        ("{{.Names}}}}", "fmt-probe}}"),
        ("{{len .Names}}", "9"),
        ('{{.Label "nope"}}|', "|"),
        ('{{.Label "a"}}', "b"),
        ("{{.Names}}\\t{{.ID}}x", "fmt-probe\tc9076de365abx"),
        ("{{.Names}}\\n{{.State}}", "fmt-probe\nrunning"),
        ("  {{.Names}}  ", "fmt-probe"),
        ('{{if eq .State "running"}}up{{else}}down{{end}}', "up"),
        ('{{if ne .State "running"}}up{{else}}down{{end}}', "down"),
        ("{{with .Names}}<{{.}}>{{end}}", "<fmt-probe>"),
        ("{{/* a comment */}}ok", "ok"),
        ("{{.Names | lower | upper}}", "FMT-PROBE"),
        ("{{upper (lower .Names)}}", "FMT-PROBE"),
        ("{{truncate .ID 3}}", "c90"),
        # a model marshals as Docker's contexts do: keys sorted, <>& escaped
        (
            "{{json .}}",
            '{"ID":"c9076de365ab","Labels":"a=b,c=\\u003c!channel\\u003e","Names":"fmt-probe","State":"running"}',
        ),
        (
            "json",
            '{"ID":"c9076de365ab","Labels":"a=b,c=\\u003c!channel\\u003e","Names":"fmt-probe","State":"running"}',
        ),
    ],
)
def test_templates_print_what_docker_prints(text: str, expected: str) -> None:
    assert run(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # Docker's message for each, position and all
        (
            "{{.Foo}}",
            'template: :1:2: executing "" at <.Foo>: '
            "can't evaluate field Foo in type *formatter.ContainerContext",
        ),
        ("{{.ID | truncate 3}}", 'template: :1:17: executing "" at <3>: expected string; found 3'),
        (
            "{{.Names.Foo}}",
            'template: :1:8: executing "" at <.Names.Foo>: can\'t evaluate field Foo in type string',
        ),
        (
            "{{lower}}",
            'template: :1:2: executing "" at <lower>: wrong number of args for lower: want 1 got 0',
        ),
        (
            "{{upper .Names .Names}}",
            'template: :1:2: executing "" at <upper>: wrong number of args for upper: want 1 got 2',
        ),
        (
            "{{.Label}}",
            'template: :1:2: executing "" at <.Label>: wrong number of args for Label: want 1 got 0',
        ),
        (
            "{{range .Names}}x{{end}}",
            'template: :1:8: executing "" at <.Names>: range can\'t iterate over fmt-probe',
        ),
    ],
)
def test_execution_errors_are_worded_as_go_words_them(text: str, expected: str) -> None:
    with pytest.raises(TemplateError) as caught:
        run(text)
    assert caught.value.message == expected
    assert not caught.value.parsing


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("{{.Names", "template: :1: unclosed action"),
        ("{{if .Names}}x", "template: :1: unexpected EOF in if"),
        ("{{end}}", "template: :1: unexpected {{end}}"),
        ("{{nosuch .Names}}", 'template: :1: function "nosuch" not defined'),
        # never more than the safe subset: no printf, no variables, no template calls
        ('{{printf "%s" .Names}}', "printf is not supported here"),
        ("{{$x := 1}}", "variables ($…) is not supported here"),
        ('{{template "x"}}', "template is not supported here"),
        ('{{define "x"}}{{end}}', "define is not supported here"),
        ("{{" + "(" * (MAX_DEPTH + 2) + ".Names" + ")" * (MAX_DEPTH + 2) + "}}", "too deeply nested"),
        ("{{if .A}}" * (MAX_DEPTH + 1) + "{{end}}" * (MAX_DEPTH + 1), "too deeply nested"),
    ],
)
def test_parse_errors(text: str, expected: str) -> None:
    with pytest.raises(TemplateError) as caught:
        parse(text)
    assert expected in caught.value.message
    assert caught.value.parsing


def test_a_table_has_docker_headers_and_alignment() -> None:
    """`docker ps --format` with this table printed exactly these lines (header functions hand their first
    argument back; a method's header is its argument)."""
    text = (
        'table {{.Label "a"}}\\t{{.State}}\\t{{.Names | upper}}\\t{{json .Names}}\\t'
        "{{truncate .ID 3}}|{{.Names}}"
    )
    assert run(text, [ROW, ROW]).splitlines() == [
        "a         STATE     NAMES       NAMES         CONTAINER ID|NAMES",
        'b         running   FMT-PROBE   "fmt-probe"   c90|fmt-probe',
        'b         running   FMT-PROBE   "fmt-probe"   c90|fmt-probe',
    ]


def test_a_table_with_no_rows_is_its_header() -> None:
    shape = Struct("*formatter.ContainerContext", {}, {}, HEADERS)
    assert parse("table {{.ID}}\\t{{.Names}}").render([], shape) == "CONTAINER ID   NAMES"


def test_a_table_header_comes_from_the_shape_for_fields_without_a_header() -> None:
    assert run("table {{.Names}}\\n{{.ID}}").splitlines() == [
        "NAMES",
        "CONTAINER ID",
        "fmt-probe",
        "c9076de365ab",
    ]


def test_values_print_as_go_prints_them() -> None:
    data = {"List": ["a", "b"], "Map": {"z": "1", "a": "2"}, "Nil": None, "Yes": True, "N": 3, "F": 0.5}
    out = parse(
        '{{.List}}|{{.Map}}|{{.Nil}}|{{.Yes}}|{{.N}}|{{.F}}|{{index .Map "a"}}|{{json .Map}}'
    ).execute(data)
    assert out == '[a b]|map[a:2 z:1]|<nil>|true|3|0.5|2|{"z":"1","a":"2"}'


def test_a_map_without_the_key_is_docker_inspects_error() -> None:
    with pytest.raises(TemplateError) as caught:
        parse("{{.Name}} {{.Nope.Deeper}}").execute({"Name": "/web"})
    assert (
        caught.value.message
        == 'template: :1:17: executing "" at <.Nope.Deeper>: map has no entry for key "Nope"'
    )


def test_range_over_a_map_is_in_key_order() -> None:
    networks = {"Networks": {"zeta": {"IPAddress": "10.0.0.2"}, "bridge": {"IPAddress": "172.17.0.2"}}}
    assert parse("{{range .Networks}}{{.IPAddress}} {{end}}").execute(networks) == "172.17.0.2 10.0.0.2 "


def test_output_is_bounded() -> None:
    big = {"Items": ["x" * 1000] * 2000}
    with pytest.raises(TemplateError, match="output passes"):
        parse("{{range .Items}}{{.}}{{end}}").execute(big)


def test_uses_tells_whether_sizes_are_needed() -> None:
    assert parse("{{.Size}}").uses("Size")
    assert parse("{{json .}}").uses("Size")
    assert not parse("json").uses("Size")  # as the CLI: --format json does not ask for sizes
    assert not parse("{{.Names}}").uses("Size")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # Go's text/tabwriter with minwidth 10, padding 3, as docker's formatter sets it up
        ("a\tb\nccc\td", "a         b\nccc       d"),
        ("x" * 12 + "\ty\nz\tw", "x" * 12 + "   y\nz" + " " * 14 + "w"),
        ("a\tb\tc\nd\te", "a         b         c\nd         e"),
        ("no tabs\nat all", "no tabs\nat all"),
        ("a\tb\nplain\nc\td", "a         b\nplain\nc         d"),  # a line without a cell ends the block
    ],
)
def test_tabwrite_aligns_as_go_does(text: str, expected: str) -> None:
    assert tabwrite(text) == expected
