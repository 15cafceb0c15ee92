"""Adding and removing entries of a round-trip YAML document without moving its comments.

ruamel.yaml attaches a comment to the value *before* it: the block that
introduces the next section (``# Minimum versions: ...``) hangs off the last
scalar of the previous section. Appending an entry after that scalar, or
removing the entry that holds it, would move the comment to the wrong place or
drop it. These functions split such a comment into the part that belongs to the
line (its end-of-line comment) and the part that trails it (blank lines and
whole-line comments), and keep the trailing part right where the reader left it:
after whatever is now last.

They work on ``CommentedMap``/``CommentedSeq`` containers; ``key`` is a map key
or a sequence index.
"""

from __future__ import annotations

from typing import Any

from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import CommentMark
from ruamel.yaml.tokens import CommentToken

__all__ = ["append_entry", "insert_entry", "set_entry", "remove_entry"]

Container = CommentedMap | CommentedSeq


def _is_block(value: Any) -> bool:
    return isinstance(value, (CommentedMap, CommentedSeq)) and len(value) > 0 and not value.fa.flow_style()


def _last_key(container: Container) -> Any:
    return next(reversed(container)) if isinstance(container, CommentedMap) else len(container) - 1


def _slot_index(container: Container) -> int:
    # A map keeps the comment after a value in slot 2 of its key's entry; a sequence in slot 0.
    return 2 if isinstance(container, CommentedMap) else 0


def _trailing_slot(container: Container, key: Any) -> tuple[Container, Any]:
    """The entry whose comment slot follows ``container[key]`` and everything inside it."""
    while _is_block(container[key]):
        container = container[key]
        key = _last_key(container)
    return container, key


def _token(container: Container, key: Any) -> CommentToken | None:
    entry = container.ca.items.get(key)
    return entry[_slot_index(container)] if entry else None


def _set_token(container: Container, key: Any, token: CommentToken | None) -> None:
    entry = container.ca.items.setdefault(key, [None, None, None, None])
    entry[_slot_index(container)] = token


def _take(container: Container, key: Any, direct: bool = False) -> str:
    """Detach and return the trailing comment lines after ``container[key]``; keep its end-of-line comment."""
    if not direct:
        container, key = _trailing_slot(container, key)
    token = _token(container, key)
    if token is None or not isinstance(token.value, str):
        return ""
    eol, newline, rest = token.value.partition("\n")
    if eol.strip():
        token.value = eol + newline
    else:
        _set_token(container, key, None)
    return rest


def _give(container: Container, key: Any, rest: str, direct: bool = False) -> None:
    """Put trailing comment lines after ``container[key]`` (after anything already there)."""
    if not rest:
        return
    if not direct:
        container, key = _trailing_slot(container, key)
    token = _token(container, key)
    if token is not None and isinstance(token.value, str):
        token.value = token.value + rest
    else:
        _set_token(container, key, CommentToken("\n" + rest, CommentMark(0), None))


def append_entry(parent: CommentedMap, name: str, value: Any, key: Any = None) -> None:
    """Append ``value`` to the collection ``parent[name]`` (a sequence, or a map under ``key``).

    An empty flow collection (``[]``, ``{}``) becomes a block one. The comment
    lines that trailed the collection still trail it.
    """
    container = parent[name]
    if len(container) == 0:
        rest = _take(parent, name, direct=True)
        container.fa.set_block_style()
    else:
        rest = _take(container, _last_key(container))
    if isinstance(container, CommentedMap):
        container[key] = value
    else:
        container.append(value)
    _give(container, _last_key(container), rest)


def insert_entry(parent: CommentedMap, position: int, key: str, value: Any) -> None:
    """Insert ``key: value`` into the map at ``position``; comments before the next key stay before it."""
    keys = list(parent)
    if position >= len(keys):
        if keys:
            rest = _take(parent, keys[-1])
            parent[key] = value
            _give(parent, key, rest)
        else:
            parent[key] = value
        return
    rest = _take(parent, keys[position - 1]) if position > 0 else ""
    parent.insert(position, key, value)
    _give(parent, key, rest)


def set_entry(parent: CommentedMap, key: str, value: Any) -> None:
    """Set ``parent[key]``: in place (its comments kept) if present, else appended after the last key."""
    if key in parent:
        rest = _take(parent, key)
        parent[key] = value
        _give(parent, key, rest)
    else:
        insert_entry(parent, len(parent), key, value)


def remove_entry(parent: Container, name: Any, key: Any) -> None:
    """Remove ``parent[name][key]``; the comment lines that followed it stay where they were.

    The entry's own comments (inside it and at the end of its lines) go with it.
    A collection left empty is written as ``[]`` or ``{}``.
    """
    container = parent[name]
    keys = list(container) if isinstance(container, CommentedMap) else list(range(len(container)))
    index = keys.index(key)
    rest = _take(container, key)
    del container[key]  # a sequence shifts the comments of later items itself
    if isinstance(container, CommentedMap):
        container.ca.items.pop(key, None)
    if index > 0:
        _give(container, keys[index - 1], rest)
    elif len(container) > 0:
        _give(parent, name, rest, direct=True)  # the lines before the new first entry
    else:
        container.fa.set_flow_style()
        _give(parent, name, rest, direct=True)
