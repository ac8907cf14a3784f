"""Inputs at which real storage backends are known to differ, as data.

Each entry is a value and the backend behaviour it stands for (``why``). The checks of
the clauses that take input use every entry that fits them, in every run: a store whose
backend folds, decodes, escapes or coerces one of these is caught for certain, not when
a random draw happens to hold one. Hypothesis (``strategies.py``) draws from the same
entries beside its own values.

Ids are the MCP alphabet (0x21-0x7E) only, so Unicode forms apply to data keys and
strings; ids get the path, URL and escape syntax instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic, TypeVar

__all__ = [
    "FRACTIONAL_FLOAT_EDGES",
    "ID_LOOKALIKES",
    "INTEGER_EDGES",
    "INVALID_ID_LOOKALIKES",
    "KEY_COLLISIONS",
    "MARKER_OBJECTS",
    "NON_MAPPING_UPDATES",
    "NON_OBJECT_DATA",
    "RESERVED_KEYS",
    "STRING_VALUES",
    "TYPE_CHANGES",
    "Entry",
    "filled",
]

T = TypeVar("T")


@dataclass(frozen=True)
class Entry(Generic[T]):
    value: T
    why: str


TOKEN = "{t}"
"""Stands for a fresh lower-case token in an id template; ``TOKEN_UPPER`` for the same one
upper-cased. A fresh token per run keeps ids from meeting sessions of earlier runs."""
TOKEN_UPPER = "{T}"


def filled(template: str, token: str) -> str:
    return template.replace(TOKEN, token.lower()).replace(TOKEN_UPPER, token.upper())


# --- ids: groups of distinct valid ids a backend would store under one key (ID-DISTINCT) ---

ID_LOOKALIKES: tuple[Entry[tuple[str, ...]], ...] = (
    Entry(("{t}/x", "{t}%2Fx", "{t}%2fx"), "URL-decoding a key, or escaping '/' as '%2F' by hand"),
    Entry(("{t}%2Fx", "{t}%2fx"), "percent-escape hex normalised to one case (RFC 3986 6.2.2.1)"),
    Entry(
        ("{t}%41", "{t}A"), "percent-escapes of unreserved characters decoded (RFC 3986 6.2.2.2)"
    ),
    Entry(("{t}%252F", "{t}%2F", "{t}/"), "a key URL-decoded twice, by a client and a server"),
    Entry(("{t}+x", "{t}%20x", "{t}%2Bx"), "form decoding ('+' as space) of a key in a URL"),
    Entry(
        ("{t}/./x", "{t}/x", "{t}/y/../x"), "dot segments removed from a URL path or a file path"
    ),
    Entry(("{t}//x", "{t}/x"), "repeated slashes collapsed in a path or an object-store key"),
    Entry(("{t}/", "{t}"), "a trailing slash dropped from a path or a URL"),
    Entry(("./{t}", "{t}", "/{t}"), "a relative or absolute file path resolved to one file"),
    Entry(("{t}\\x", "{t}/x"), "backslash taken as a path separator (Windows file names)"),
    Entry(("{t}.", "{t}", "{t}..."), "trailing dots dropped from Windows file names"),
    Entry(("{t}a", "{T}A"), "case-insensitive file systems, collations and header names"),
    Entry(("{t}#x", "{t}#y", "{t}"), "a URL fragment dropped before the request is sent"),
    Entry(("{t}?x", "{t}?y", "{t}"), "a query string taken apart from the path of a URL"),
    Entry(("{t};x", "{t}"), "path parameters (';') stripped by servlet-style URL parsing"),
    Entry(("{t}~1x", "{t}/x"), "JSON Pointer escapes ('~1' for '/') in a document path"),
    Entry(("{t}~0x", "{t}~x"), "JSON Pointer escapes ('~0' for '~') in a document path"),
    Entry(("{t}:x", "{t}_x", "{t}/y", "{t}_y"), "characters a key forbids replaced with '_'"),
    Entry(("{t}.x", "{t}_x"), "dots in a document key (MongoDB, Firebase) replaced with '_'"),
    Entry(("{t}*x", "{t}_x"), "glob characters replaced before a pattern match"),
    Entry(("{t}%00x", "{t}"), "a decoded NUL ending a C string"),
    Entry(('{t}"x', '{t}\\"x'), "backslash escapes undone when the key is read back"),
    Entry(("{t}&amp;", "{t}&"), "HTML entities decoded in a key that went through a template"),
    Entry(("{t}=", "{t}", "{t}=="), "base64 padding trimmed from a key that looks encoded"),
    Entry(
        ("{t}-x", "{t}_x", "{t}.x"), "'-', '_' and '.' folded alike (PEP 503 name normalisation)"
    ),
)

INVALID_ID_LOOKALIKES: tuple[Entry[str], ...] = (
    Entry("\uff41", "fullwidth 'a': NFKC normalisation turns it into ASCII 'a'"),
    Entry("\u212a", "Kelvin sign: lower() and NFKC turn it into ASCII 'k'"),
    Entry("\u017f", "long s: casefold() turns it into ASCII 's'"),
    Entry("\u0131", "dotless i: upper() turns it into ASCII 'I'"),
    Entry("\u0130", "dotted capital I: lower() turns it into 'i' and a combining dot"),
    Entry("\ufb01", "the 'fi' ligature: NFKC turns it into ASCII 'fi'"),
    Entry("\u200b", "zero-width space, which some sanitisers delete"),
    Entry("\u200d", "zero-width joiner, which some sanitisers delete"),
    Entry("\ufeff", "byte order mark, which UTF-8 readers drop"),
    Entry("\u0085", "next line: str.strip() and str.split() treat it as white space"),
    Entry("\x1c", "file separator: str.strip() treats it as white space"),
    Entry("\x0b", "vertical tab: str.strip() treats it as white space"),
    Entry("\u2028", "line separator: str.strip() treats it as white space"),
    Entry("\u00ad", "soft hyphen, invisible and deleted by some normalisers"),
    Entry("\ufffd", "the replacement character an undecodable byte becomes"),
)

# --- data keys: keys a codec or a normaliser makes one (DATA-STRINGS) ----------------------

KEY_COLLISIONS: tuple[Entry[tuple[str, ...]], ...] = (
    Entry(("a.b", "a\uff0eb", "a_b"), "MongoDB/Firebase codecs escape '.' as U+FF0E or '_'"),
    Entry(("$k", "\uff04k", "_$k"), "MongoDB codecs escape a leading '$' as U+FF04 or '_$'"),
    Entry(("a/b", "a~1b", "a%2Fb"), "JSON Pointer and URL escapes of '/' in a key path"),
    Entry(("~", "~0", "~1"), "JSON Pointer escapes of '~' and '/'"),
    Entry(("a\\u002eb", "a.b"), "an escape written as text and undone on read"),
    Entry(("\\u0000", "\x00", ""), "NUL escaped as text, stripped, or ending a C string"),
    Entry(("a\x00b", "ab", "a"), "NUL deleted (PostgreSQL jsonb refuses it) or ending the key"),
    Entry(("\u00e9", "e\u0301"), "NFC and NFD forms of 'é' normalised to one"),
    Entry(("\u00df", "ss", "SS", "\u1e9e"), "case folding: 'ß', 'ẞ', 'ss' and 'SS' fold alike"),
    Entry(("\u01c5", "\u01c4", "\u01c6"), "title-case digraph 'ǅ' folded with 'Ǆ' and 'ǆ'"),
    Entry(("K", "k", "\u212a"), "the Kelvin sign folded or NFKC-normalised to 'k'"),
    Entry(("A", "a", "\uff21"), "fullwidth 'Ａ' NFKC-normalised, and case folding"),
    Entry(("\ufb01", "fi"), "the ligature 'ﬁ' NFKC-normalised to 'fi'"),
    Entry(("ab", "a\u200db", "a\u200bb", "a\u00adb"), "invisible characters deleted"),
    Entry(("\ufffd", "\U0001f600", "?"), "astral or unencodable characters replaced (utf8mb3)"),
    Entry(("", " ", "  "), "empty and blank keys dropped or trimmed"),
    Entry(("a", "a ", " a", "a\t"), "keys trimmed of white space"),
    Entry(("a\n", "a\r\n", "a\r"), "line endings normalised"),
    Entry(("1", "01", "1.0", "1e0", "+1"), "numeric-looking keys parsed as numbers"),
    Entry(("true", "True", "TRUE"), "YAML-style scalars parsed as booleans"),
    Entry(("a[0]", "a.0", "a"), "lodash-style paths (set/get) taken apart"),
    Entry(('a"b', "a'b", 'a\\"b'), "quotes escaped or unescaped in a generated query"),
    Entry(("k" * 300 + "1", "k" * 300 + "2"), "keys cut to a column or index width"),
    Entry(("__proto__", "constructor", "prototype"), "keys a JavaScript object gives a meaning"),
)

RESERVED_KEYS: tuple[Entry[str], ...] = (
    Entry("_id", "MongoDB and CouchDB document id, which a codec may take for its own"),
    Entry("_rev", "CouchDB revision field"),
    Entry("__v", "Mongoose version key"),
    Entry("_meta", "a 'meta' field a store keeps beside the data"),
    Entry("__system", "a system-prefixed field"),
    Entry("$version", "a '$'-prefixed field, an operator to MongoDB"),
    Entry("$set", "a MongoDB update operator"),
    Entry("@type", "a JSON-LD keyword (type of a node)"),
    Entry("_ts", "Cosmos DB timestamp field"),
    Entry("_etag", "Cosmos DB and Azure Table etag field"),
    Entry("__typename", "GraphQL type field"),
    Entry("_class", "Spring Data type field"),
    Entry("createdAt", "a record field of a flat layout (LeanMCP's DynamoDB items)"),
    Entry("updated_at", "a record field of a flat layout"),
    Entry("ttl", "the expiry attribute of a flat layout"),
    Entry("sessionId", "the key attribute of a flat layout"),
    Entry("data", "the name the record gives the data itself"),
    Entry("revision", "a revision counter of a flat layout"),
)

STRING_VALUES: tuple[Entry[str], ...] = (
    Entry("", "the empty string, which DynamoDB once refused and some codecs drop"),
    Entry(" ", "a blank string, trimmed to empty"),
    Entry("\uff0e\uff04", "the replacement characters of MongoDB key escapes"),
    Entry("~1~0", "JSON Pointer escapes"),
    Entry("%2F%25", "URL escapes, decoded by mistake"),
    Entry("\\u0000\\n", "JSON escapes written as text, unescaped by a second decode"),
    Entry("\u00df\u01c5\u212a\ufb01", "text case folding or NFKC would change"),
    Entry("a\u200db\u00ad", "invisible characters a sanitiser deletes"),
    Entry("\r\n", "a line ending normalised"),
    Entry("null", "text that a lenient codec parses as JSON null"),
    Entry("true", "text that a lenient codec parses as a boolean"),
    Entry("1.0", "text that a lenient codec parses as a number"),
    Entry("NaN", "text that a lenient codec parses as a float"),
    Entry("2026-01-01T00:00:00.000Z", "text that a codec revives as a datetime"),
    Entry("undefined", "text that a JavaScript codec revives as undefined"),
)

# --- objects shaped like a codec's marker: must come back as the caller's object (DATA-TYPES) ---

MARKER_OBJECTS: tuple[Entry[dict[str, Any]], ...] = (
    Entry({"$date": "2026-01-01T00:00:00Z"}, "MongoDB Extended JSON date"),
    Entry({"$numberLong": "5"}, "MongoDB Extended JSON 64-bit integer"),
    Entry({"$numberDecimal": "1.5"}, "MongoDB Extended JSON decimal"),
    Entry({"$oid": "5f0c1b2a3d4e5f6a7b8c9d0e"}, "MongoDB Extended JSON object id"),
    Entry({"$binary": {"base64": "", "subType": "00"}}, "MongoDB Extended JSON binary"),
    Entry({"$undefined": True}, "MongoDB Extended JSON undefined"),
    Entry({"S": "x"}, "DynamoDB attribute value: string"),
    Entry({"N": "5"}, "DynamoDB attribute value: number"),
    Entry({"BOOL": True}, "DynamoDB attribute value: boolean"),
    Entry({"NULL": True}, "DynamoDB attribute value: null"),
    Entry({"L": []}, "DynamoDB attribute value: list"),
    Entry({"M": {}}, "DynamoDB attribute value: map"),
    Entry({"__type__": "datetime", "value": "2026-01-01T00:00:00"}, "a Python codec's typed value"),
    Entry({"__class__": "Decimal", "__value__": "1.5"}, "a Python codec's class marker"),
    Entry({"__tuple__": True, "items": [1, 2]}, "a codec keeping tuples apart from lists"),
    Entry({"__set__": [1, 2]}, "a codec keeping sets"),
    Entry({"__bytes__": "eA=="}, "a codec keeping bytes as base64"),
    Entry({"py/object": "datetime.datetime"}, "jsonpickle object marker"),
    Entry({"py/tuple": [1, 2]}, "jsonpickle tuple marker"),
    Entry({"__type": "Date", "iso": "2026-01-01T00:00:00.000Z"}, "Parse Server date"),
    Entry({"__jsonclass__": ["date", [0]]}, "JSON-RPC 1.0 class hinting"),
    Entry({"@type": "xsd:dateTime", "@value": "2026-01-01"}, "JSON-LD typed value"),
    Entry({"$ref": "#/a"}, "JSON Reference, resolved by some loaders"),
    Entry({"json": {"a": 1}, "meta": {"values": {"a": ["Date"]}}}, "the envelope superjson writes"),
    Entry({"_id": "x", "_rev": "1-a"}, "CouchDB document fields"),
    Entry({"__proto__": {"polluted": "yes"}}, "a key JavaScript treats as the prototype"),
    Entry({}, "an empty object, which some codecs drop or turn into null"),
    Entry({"": ""}, "the empty key and the empty string together"),
)

# --- numbers at the edges of what backends keep (DATA-TYPES, DATA-INTEGERS) ---------------

INTEGER_EDGES: tuple[Entry[int], ...] = (
    Entry(2**31, "one past a 32-bit INTEGER column"),
    Entry(-(2**31) - 1, "one below a 32-bit INTEGER column"),
    Entry(2**32 + 1, "one past an unsigned 32-bit counter"),
    Entry(2**53 + 1, "the first integer a double cannot hold (JavaScript, Lua, SQLite REAL)"),
    Entry(-(2**53) - 1, "the first negative integer a double cannot hold"),
    Entry(2**63 - 1, "the largest BIGINT"),
    Entry(-(2**63), "the smallest BIGINT, whose negation overflows"),
    Entry(10**16 + 1, "a decimal length past doubles' 15-16 significant digits"),
)

FRACTIONAL_FLOAT_EDGES: tuple[Entry[float], ...] = (
    Entry(4503599627370495.5, "the largest double with a fractional part"),
    Entry(1.0000000000000002, "needs 17 significant digits: '%.15g' or float32 loses it"),
    Entry(123456789.12345679, "past float32 and past 15 significant digits"),
    Entry(0.1 + 0.2, "0.30000000000000004: a decimal rounding to 15 digits makes it 0.3"),
    Entry(5e-324, "the smallest subnormal, which some parsers flush to 0"),
    Entry(-2.2250738585072014e-308, "the smallest normal, negated"),
    Entry(1e-7, "repr switches to an exponent, which some writers print as 0.0000001"),
    Entry(-0.5, "a negative fraction, rounded to -0 or 0 by integer-minded codecs"),
)

# --- updates whose new data is == to the old but of another JSON type (UPDATE-REPLACE) ---

TYPE_CHANGES: tuple[Entry[tuple[Any, Any]], ...] = (
    Entry((1, True), "Python: 1 == True, so a dirty check drops the change to a boolean"),
    Entry((True, 1), "Python: True == 1, so a dirty check drops the change to an integer"),
    Entry((0, False), "Python: 0 == False"),
    Entry((False, 0), "Python: False == 0"),
    Entry((1.0, True), "Python: 1.0 == True (the stored float may come back as 1)"),
    Entry((0.0, False), "Python: 0.0 == False"),
    Entry(([1, 0], [True, False]), "list equality compares items with =="),
    Entry(({"n": 1}, {"n": True}), "dict equality compares values with =="),
    Entry(("1", 1), "JavaScript: '1' == 1"),
    Entry(("", 0), "JavaScript: '' == 0"),
    Entry(("0", False), "JavaScript: '0' == false"),
    Entry((None, False), "truthiness: None and False are both falsy"),
    Entry(([], {}), "truthiness: both empty containers are falsy"),
    Entry(({}, None), "truthiness: an empty object and null"),
    Entry(("", None), "truthiness: the empty string and null"),
)

# --- inputs that coercion idioms turn into objects (DATA-INVALID, UPDATE-KEYS) ---------------

NON_OBJECT_DATA: tuple[Entry[Any], ...] = (
    Entry([["a", "1"]], "dict(x) turns a list of pairs into {'a': '1'}"),
    Entry([("a", "1"), ("b", "2")], "dict(x) turns a list of tuples into an object"),
    Entry(["ab", "cd"], "dict(x) turns two-character strings into {'a': 'b', 'c': 'd'}"),
    Entry("", "dict('') is {}: an empty string becomes an empty object"),
    Entry([], "dict([]) is {}: an empty list becomes an empty object"),
    Entry((), "dict(()) is {}: an empty tuple becomes an empty object"),
    Entry({"a": "1"}.items(), "dict(x) over a view of items"),
    Entry(0, "a falsy non-object, which `data or {}` turns into {}"),
    Entry(False, "a falsy non-object, which `data or {}` turns into {}"),
)

NON_MAPPING_UPDATES: tuple[Entry[Any], ...] = (
    Entry([], "dict([]) is {}: an empty list becomes a touch"),
    Entry("", "dict('') is {}: an empty string becomes a touch"),
    Entry((), "dict(()) is {}: an empty tuple becomes a touch"),
    Entry(0, "`updates or {}` turns a falsy non-mapping into a touch"),
    Entry(False, "`updates or {}` turns a falsy non-mapping into a touch"),
)
