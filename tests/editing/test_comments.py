"""Adding and removing YAML entries keeps every comment where the reader left it."""

from __future__ import annotations

from ruamel.yaml.comments import CommentedMap

from kickit_edge.editing.comments import append_entry, insert_entry, remove_entry, set_entry
from kickit_edge.editing.edit import dump_document, round_trip

TEXT = """\
# header
items:   # the list
  # before the first
  - name: a
    value: 1   # one
  # between a and b
  - name: b
    nested:
      deep: 2

# introduces next
next: 1   # eol
"""


def _load(text: str = TEXT) -> CommentedMap:
    return round_trip().load(text)


def test_round_trip_is_exact() -> None:
    assert dump_document(_load()) == TEXT


def test_append_keeps_the_next_sections_comment_after_the_new_item() -> None:
    doc = _load()
    append_entry(doc, "items", CommentedMap(name="c"))
    assert dump_document(doc) == TEXT.replace("      deep: 2\n", "      deep: 2\n  - name: c\n")


def test_remove_last_keeps_the_trailing_comment() -> None:
    doc = _load()
    remove_entry(doc, "items", 1)
    assert dump_document(doc) == """\
# header
items:   # the list
  # before the first
  - name: a
    value: 1   # one
  # between a and b

# introduces next
next: 1   # eol
"""


def test_remove_first_keeps_the_comment_before_the_next() -> None:
    doc = _load()
    remove_entry(doc, "items", 0)
    assert dump_document(doc) == """\
# header
items:   # the list
  # before the first
  # between a and b
  - name: b
    nested:
      deep: 2

# introduces next
next: 1   # eol
"""


def test_remove_every_item_leaves_an_empty_flow_list() -> None:
    doc = _load()
    remove_entry(doc, "items", 1)
    remove_entry(doc, "items", 0)
    text = dump_document(doc)
    assert text.startswith("# header\nitems: []")
    assert text.endswith("# introduces next\nnext: 1   # eol\n")
    assert round_trip().load(text)["items"] == []
    append_entry(doc, "items", CommentedMap(name="z"))
    text = dump_document(doc)
    assert "  - name: z\n" in text and text.index("name: z") < text.index("# introduces next")


def test_set_entry_in_place_and_appended() -> None:
    doc = _load()
    set_entry(doc, "next", 2)
    assert dump_document(doc).endswith("next: 2   # eol\n")
    set_entry(doc["items"][1], "extra", "x")
    text = dump_document(doc)
    assert "      deep: 2\n    extra: x\n\n# introduces next" in text


def test_insert_entry_before_a_key_keeps_that_keys_comment() -> None:
    doc = _load()
    insert_entry(doc, 1, "middle", 5)
    text = dump_document(doc)
    assert text.index("      deep: 2\n") < text.index("middle: 5") < text.index("# introduces next")


def test_map_entries() -> None:
    doc = _load("texts:\n  a: x   # ax\n  b: y\n\n# tail\nafter: 1\n")
    append_entry(doc, "texts", "z", key="c")
    assert dump_document(doc) == "texts:\n  a: x   # ax\n  b: y\n  c: z\n\n# tail\nafter: 1\n"
    remove_entry(doc, "texts", "c")
    remove_entry(doc, "texts", "a")
    assert dump_document(doc) == "texts:\n  b: y\n\n# tail\nafter: 1\n"


def test_a_new_key_goes_after_the_last_key_not_after_the_next_sections_comment(demo_config) -> None:
    from kickit_edge.editing.credentials import add_app_key

    key = add_app_key(str(demo_config), "demo")
    text = (demo_config / "apps" / "demo.yaml").read_text()
    assert text.index(f"prefix: {key.prefix}") < text.index("# Messages are referenced by name") < text.index("messages:")
