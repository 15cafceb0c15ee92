"""Reading a config file with yaml-rs, when it provably gives what PyYAML gives.

PyYAML is the reference reader (see :mod:`.source`): YAML 1.1 scalars
(``yes`` is true, ``017`` is 15, ``1:20`` is 80), duplicate keys refused,
dates kept as written, aliases bounded, and the error texts we document. Its
node tree costs about 2 ms per app file, most of a 10,000-app compile. yaml-rs
(a Rust parser) builds the same data in a fifth of that, but reads YAML 1.2
scalars, so it is used only for a file where the two cannot differ:

* nothing but printable characters, line feeds and no backslash escapes (no tab,
  CR, BOM, NEL or other line break that only YAML 1.1 knows);
* no anchor, alias, tag, directive, document marker, block scalar or complex
  key: every plain scalar that starts like a number, a boolean, a null or one
  of those indicators is found in the text (:data:`_PLAIN`), and each is read
  by both parsers: they must give the same type and value, and every key must
  be a string to both (PyYAML would turn ``1:`` into the key ``"1"``);
* yaml-rs accepts the file (a duplicate key, a syntax error or anything else
  it refuses goes to PyYAML, which reports it with today's text).

A scalar that neither starts a plain scalar nor begins with one of those
characters is a string to both parsers, whatever it holds: quoted text,
words inside a sentence, names. A file that fails any test is simply read by
PyYAML, so the rules only ever cost time, never a different answer; a test
reads every fixture both ways and compares.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import yaml
import yaml_rs

__all__ = ["quick_load"]

# Characters outside YAML's common printable set, tab and CR, YAML 1.1's extra
# line breaks (NEL, LS, PS), the BOM, and the backslash of escape sequences;
# and a ":" before a flow indicator ("[a:, b]"), which LibYAML refuses.
_UNSURE_TEXT = re.compile("[\x00-\x09\x0b-\x1f\x7f\\\\\x80-\x9f\u2028\u2029\ufeff\ufffe\uffff]|:[,\\[\\]{}]")
# Where a plain scalar can start (a line's start after indentation and "- "
# entries, after ": ", after a quoted key's ":", after a flow indicator), the
# scalar there if its first character may make it typed to either parser or
# is an indicator (else nothing, before a ":": an empty key, or a flow
# collection used as a key), and the key's ":" if one follows. The ":" is
# looked at, not taken, so that the value after it is the next match: nothing
# a match takes may hold the start of another scalar. A scalar that starts
# with a letter or digit and goes on after a space on its line ("No update
# needed", "2 new features") holds a space: a string to both parsers.
_KEY = r"[ ]*:[\s,\[\]{}]"
_REST = r"[^\s,\[\]{}#:]*+(?::[^\s,\[\]{}#:]++)*+"
_PLAIN = re.compile(
    r"(?:\n[ ]*(?:-[ ]+)*+|:[ ]+|[\"']:[ ]*|[\[{,\]}][ ]*)"
    r"(?:([yYnNtTfFoO0-9]" + _REST + r"(?![ ]+[^\s#:,\[\]{}])|[+\-.<~=_?&*!|>%@`:]" + _REST + ")|(?=" + _KEY + "))"
    r"(?=(" + _KEY + ")?)")
_INDICATORS = tuple("?&*!|>%@`<=:") + ("---", "...")
# The same test for ASCII text: every byte but these is unsure, and so are these pairs.
_ASCII_SURE = b"\n" + bytes(range(0x20, 0x7f)).replace(b"\\", b"")
_UNSURE_PAIRS = re.compile(r":[,\[\]{}]")
# Words (as str.split gives them) whose scalars both parsers read alike: see _words_agree.
# "-" alone is a sequence entry, or a scalar both read alike or both refuse.
_SAFE_WORDS: set[str] = {"-"}
_STRING_TAGS = {"tag:yaml.org,2002:str", "tag:yaml.org,2002:timestamp"}  # dates stay the text written
_TYPED_TAGS = {"tag:yaml.org,2002:bool", "tag:yaml.org,2002:int", "tag:yaml.org,2002:float",
               "tag:yaml.org,2002:null"}
_RESOLVE: Callable[[type[yaml.Node], str, tuple[bool, bool]], str] = yaml.resolver.Resolver().resolve
_CONSTRUCTOR = yaml.constructor.SafeConstructor()
# Scalars (and key scalars) both parsers were seen to read alike, per process.
# Most repeat from file to file (platforms, booleans, versions); the cap only
# bounds a long-running process that reads ever new ones.
_AGREED: set[tuple[str, str]] = set()
_AGREED_CAP = 200_000


def _pyyaml_value(scalar: str) -> tuple[bool, Any]:
    """What PyYAML's loader (as :mod:`.source` builds data) makes of a plain scalar: (understood, value)."""
    tag = _RESOLVE(yaml.ScalarNode, scalar, (True, False))
    if tag in _STRING_TAGS:
        return True, scalar
    if tag in _TYPED_TAGS:
        return True, _CONSTRUCTOR.construct_object(yaml.ScalarNode(tag, scalar))
    return False, None  # a merge key "<<" or a value key "="


def _agree(found: set[tuple[str, str]]) -> bool:
    """Whether both parsers read every one of these plain scalars (and keys) alike."""
    fresh = [item for item in found if item not in _AGREED]
    if not fresh:
        return True
    scalars = [scalar for scalar, _ in fresh]
    if any(not scalar or scalar == "-" or scalar.startswith(_INDICATORS) for scalar in scalars):
        return False
    try:
        theirs: Any = yaml_rs.loads("".join(f"- {scalar}\n" for scalar in scalars), parse_datetime=False)
    except (yaml_rs.YAMLDecodeError, ValueError):
        return False
    if not isinstance(theirs, list) or len(theirs) != len(scalars):
        return False
    for (scalar, key), value in zip(fresh, theirs):
        understood, ours = _pyyaml_value(scalar)
        # repr tells -0.0 from 0.0, and is equal for two NaNs.
        if not understood or type(ours) is not type(value) or repr(ours) != repr(value):
            return False
        if key and (type(ours) is not str or key[-1] not in " \n"):
            return False  # LibYAML refuses a key whose ":" a flow indicator follows ("[a:, b]")
    if len(_AGREED) > _AGREED_CAP:
        _AGREED.clear()
    _AGREED.update(fresh)
    return True


def _words_agree(text: str) -> bool:
    """Whether every word of ``text``, each taken as if it started a plain scalar, holds only agreed scalars.

    A superset of the scalars :data:`_PLAIN` finds in the whole text (a word
    is not always where a scalar starts), at the cost of a ``split`` (most
    words recur from file to file); but a key whose ":" is a word of its own
    ("true :") is left to the whole text.
    """
    fresh = set(text.split()).difference(_SAFE_WORDS)
    found: set[tuple[str, str]] = set()
    for word in fresh:
        if word[0] == ":":
            return False
        found.update(_PLAIN.findall("\n" + word + "\n"))
    if not _agree(found):
        return False
    if len(_SAFE_WORDS) > _AGREED_CAP:
        _SAFE_WORDS.clear()
        _SAFE_WORDS.add("-")
    _SAFE_WORDS.update(fresh)
    return True


def _sure_text(text: str) -> bool:
    """No character or ":" that :data:`_UNSURE_TEXT` finds (an ASCII text is checked with bytes operations)."""
    if not text.isascii():
        return _UNSURE_TEXT.search(text) is None
    return not text.encode().translate(None, _ASCII_SURE) and _UNSURE_PAIRS.search(text) is None


def _string_keys(value: Any) -> bool:
    """Whether every mapping key in ``value`` is a string (a flow mapping's key needs no ":", so the text cannot
    tell; PyYAML makes ``{1}``'s key "1" and refuses ``{null}``'s). yaml-rs nests at most a few hundred deep."""
    if type(value) is dict:
        for key, item in value.items():
            if type(key) is not str or ((type(item) is dict or type(item) is list) and not _string_keys(item)):
                return False
    elif type(value) is list:
        for item in value:
            if (type(item) is dict or type(item) is list) and not _string_keys(item):
                return False
    return True


def quick_load(text: str) -> tuple[bool, Any]:
    """(True, data) if yaml-rs read ``text`` exactly as PyYAML would; (False, None) if PyYAML must read it.

    An empty document is left to PyYAML too (it reports it).
    """
    if not _sure_text(text):
        return False, None
    if not _words_agree(text) and not _agree(set(_PLAIN.findall("\n" + text + "\n"))):
        return False, None
    try:
        data: Any = yaml_rs.loads(text, parse_datetime=False)
    except (yaml_rs.YAMLDecodeError, ValueError):
        return False, None
    if data is None or not _string_keys(data):
        return False, None
    return True, data
