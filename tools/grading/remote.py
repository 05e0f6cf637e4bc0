"""Generate the grader's remote calls from the exercise headers (see remote.hpp for the protocol).

    parse_header(path)  -> Header(functions, structs) of exercises/include/course/exercises/chNN_*.hpp
    generate(headers)   -> C++ source, compiled twice:
        -DCOURSE_GRADING_PROXIES  one proxy per exercise function (linked into the trusted test
                                  executables in place of the student's objects)
        -DCOURSE_GRADING_WORKER   the dispatcher and main() of the worker (linked with the student's
                                  objects, run in the sandbox)
Nothing is written by hand per chapter: a new chapter's header is read like the others. What the
reader understands (the exercise headers' own style, docs/instructors.md "Remote calls"):
  - functions declared at namespace scope in `namespace course::chNN { ... }`, ending in `;`
    (inline functions, templates and anything with a body in the header are not exercises);
    parameters `const T&` and by-value T are inputs, `T&` are inputs and outputs (sent back);
  - structs: each non-static data member declared as `Type name;`, `Type name = init;` or
    `Type a, b;`; member functions and static members are skipped. The generated code binds the
    struct with a structured binding of as many names as fields were read, so a struct the reader
    miscounts (or that is not a plain aggregate) fails to compile with the struct named.
"""
from __future__ import annotations

import dataclasses
import pathlib
import re


class HeaderError(ValueError):
    pass


@dataclasses.dataclass
class Param:
    type: str        # as written, e.g. "const MatD&"
    name: str
    inout: bool      # a non-const lvalue reference: sent back after the call


@dataclasses.dataclass
class Function:
    namespace: str   # "course::ch01"
    ret: str         # "Pca", "void"
    name: str
    params: list[Param]

    @property
    def qualified(self) -> str:
        return f"{self.namespace}::{self.name}"


@dataclasses.dataclass
class Struct:
    namespace: str
    name: str
    fields: list[str]
    where: str       # "file:line" for messages

    @property
    def qualified(self) -> str:
        return f"{self.namespace}::{self.name}"


@dataclasses.dataclass
class Header:
    path: pathlib.Path
    include: str     # "course/exercises/ch01_linear_ae_pca.hpp"
    functions: list[Function]
    structs: list[Struct]


def _strip_comments(text: str) -> str:
    """Comments and preprocessor lines become spaces (newlines kept, for line numbers)."""
    out, i, n = [], 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("//", i):
            j = text.find("\n", i)
            i = n if j < 0 else j
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
        elif c in "\"'":
            j = i + 1
            while j < n and text[j] != c:
                j += 2 if text[j] == "\\" else 1
            out.append(text[i:j + 1])
            i = j + 1
        else:
            out.append(c)
            i += 1
    lines = "".join(out).split("\n")
    return "\n".join("" if l.lstrip().startswith("#") else l for l in lines)


def _split_top(text: str, sep: str) -> list[str]:
    """Split at `sep` outside (), <>, [], {}."""
    parts, depth, cur = [], 0, []
    for c in text:
        if c in "(<[{":
            depth += 1
        elif c in ")>]}":
            depth -= 1
        if c == sep and depth == 0:
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(c)
    parts.append("".join(cur))
    return parts


def _first(body: str, start: int) -> int:
    """The position of the first non-blank character from `start` (where a statement's line is)."""
    while start < len(body) and body[start] in " \t\n":
        start += 1
    return start


def _statements(body: str, base_line: int):
    """Top-level statements of a block: (text, block or None, line). A statement ends at ';' or at
    a top-level {...} (plus a ';' right after it, as for a struct)."""
    i, n, start, depth = 0, len(body), 0, 0
    while i < n:
        c = body[i]
        if c in "([":
            depth += 1
        elif c in ")]":
            depth -= 1
        elif c == ";" and depth == 0:
            yield body[start:i].strip(), None, base_line + body.count("\n", 0, _first(body, start))
            start = i + 1
        elif c == "{" and depth == 0:
            level, j = 1, i + 1
            while j < n and level:
                level += {"{": 1, "}": -1}.get(body[j], 0)
                j += 1
            head = body[start:i].strip()
            block = body[i + 1:j - 1]
            k = j
            while k < n and body[k] in " \t\n":
                k += 1
            if k < n and body[k] == ";" and not re.search(r"\)\s*(const\s*)?(noexcept\s*)?$", head):
                # struct X {...};  or  Type x = {...};  (a function body is not followed by ';')
                end_text = body[j:k]
                yield head, block, base_line + body.count("\n", 0, _first(body, start))
                i = k + 1
                start = i
                continue
            yield head, block, base_line + body.count("\n", 0, _first(body, start))
            i = j
            start = i
            continue
        i += 1
    rest = body[start:].strip()
    if rest:
        yield rest, None, base_line + body.count("\n", 0, _first(body, start))


IDENT = r"[A-Za-z_]\w*"


QUALIFIERS = {"const", "volatile", "unsigned", "signed", "long", "short", "mutable"}


def _declarator(d: str, first: bool):
    """(type, name) of 'Type name' (or of 'name' after the first declarator of 'Type a, b'),
    None when it has no name."""
    m = re.match(rf"^(.*?)\s*\b({IDENT})\s*(\[[^\]]*\])?$", d.strip(), re.S)
    if not m:
        return None
    typ = m.group(1).strip()
    if first and (not typ or typ in QUALIFIERS or typ.endswith("::")):
        return None
    return typ, m.group(2)


def _parse_struct_fields(block: str, name: str, where: str) -> list[str]:
    fields = []
    for text, sub, line in _statements(block, 0):
        t = re.sub(r"\[\[[^\]]*\]\]", " ", text).strip()
        t = re.sub(r"^(public|private|protected)\s*:", "", t).strip()
        if not t:
            continue
        if re.match(r"(struct|class|union)\b", t) and sub is not None:
            raise HeaderError(f"{where}: struct {name} declares a nested type; declare it at "
                              f"namespace scope (the grader's reader does not follow nesting)")
        if re.match(r"(static|using|typedef|friend|enum|template)\b", t):
            continue          # not a non-static data member
        if "(" in _split_top(t, "=")[0]:
            continue          # a member function (declared, or defined in the header)
        for i, d in enumerate(_split_top(t, ",")):
            got = _declarator(_split_top(d, "=")[0], i == 0)
            if got is None:
                raise HeaderError(f"{where}: struct {name}: cannot read the member declaration "
                                  f"'{' '.join(t.split())}'; write one 'Type name;' per line")
            fields.append(got[1])
    return fields


def _parse_params(text: str, where: str) -> list[Param]:
    text = text.strip()
    if text in ("", "void"):
        return []
    out = []
    for i, p in enumerate(_split_top(text, ",")):
        p = " ".join(re.sub(r"\[\[[^\]]*\]\]", " ", _split_top(p, "=")[0]).split())
        got = _declarator(p, True)
        typ, name = got if got else (p, f"arg{i}")
        if typ.endswith("*") or "&&" in typ or "(" in typ or "[" in p:
            raise HeaderError(f"{where}: parameter '{p}': the grader passes values, const references "
                              f"and non-const references (in/out), not pointers, arrays or rvalue "
                              f"references")
        inout = typ.endswith("&") and not re.match(r"const\b", typ) and not re.search(r"\bconst\s*&$", typ)
        out.append(Param(typ, name, inout))
    return out


def parse_header(path: pathlib.Path, include_root: pathlib.Path | None = None) -> Header:
    raw = path.read_text(errors="replace")
    text = _strip_comments(raw)
    include = str(path.relative_to(include_root)) if include_root else f"course/exercises/{path.name}"
    functions, structs = [], []
    for head, block, line in _statements(text, 1):
        m = re.match(r"namespace\s+(course::ch\d\d)$", head)
        if not m or block is None:
            continue
        ns = m.group(1)
        start_line = line + head.count("\n")
        for text2, sub, l2 in _statements(block, start_line):
            where = f"{path.name}:{l2}"
            t = re.sub(r"\[\[[^\]]*\]\]", " ", text2).strip()
            if not t:
                continue
            sm = re.match(rf"(struct|class)\s+({IDENT})\b\s*(final)?\s*(:.*)?$", t, re.S)
            if sm and sub is not None:
                if sm.group(4):
                    raise HeaderError(f"{where}: {sm.group(1)} {sm.group(2)} has a base class; exercise "
                                      f"structs are plain aggregates (docs/instructors.md)")
                structs.append(Struct(ns, sm.group(2), _parse_struct_fields(sub, sm.group(2), where), where))
                continue
            if sub is not None or re.match(r"(using|typedef|enum|namespace|template|inline|static|"
                                            r"constexpr|extern|struct|class)\b", t):
                continue      # definitions in the header, aliases, enums: not exercises
            fm = re.match(rf"^(.*?)\b({IDENT})\s*\((.*)\)\s*(noexcept)?$", t, re.S)
            if not fm:
                continue      # a variable declaration
            ret = " ".join(fm.group(1).split())
            if not ret or ret in ("return",):
                continue
            functions.append(Function(ns, ret, fm.group(2), _parse_params(" ".join(fm.group(3).split()), where)))
    return Header(path, include, functions, structs)


def parse_headers(header_dir: pathlib.Path) -> list[Header]:
    return [parse_header(p) for p in sorted(header_dir.glob("ch[0-9][0-9]_*.hpp"))]


# ---------------------------------------------------------------------------------------------

def _codec(s: Struct) -> str:
    names = [f"f{i}" for i in range(len(s.fields))]
    binding = ", ".join(names)
    put = " ".join(f"grading::put(w, {n});" for n in names)
    get = " ".join(f"grading::get(r, {n});" for n in names)
    msg = (f"{s.qualified} ({s.where}): the grader sends a struct field by field and needs a plain "
           f"aggregate (public data members, no base class, no constructor): see docs/instructors.md, "
           f"'Remote calls'")
    fields = ", ".join(s.fields)
    return f"""// {s.qualified}: {len(s.fields)} field(s) read from its header: {fields}.
// (If the struct has a different number of fields, the structured bindings below do not compile.)
template <>
struct Codec<{s.qualified}> {{
  static_assert(std::is_aggregate_v<{s.qualified}>, "{msg}");
  static void put(Writer& w, const {s.qualified}& s) {{
    const auto& [{binding}] = s;
    {put}
  }}
  static void get(Reader& r, {s.qualified}& s) {{
    auto& [{binding}] = s;
    {get}
  }}
}};
"""


def _proxy(fid: int, f: Function) -> str:
    params = ", ".join(f"{p.type} {p.name}" for p in f.params)
    puts = "".join(f"  put(w, {p.name});\n" for p in f.params)
    ret_decl = "" if f.ret == "void" else f"  std::remove_cvref_t<{f.ret}> result{{}};\n"
    ret_get = "" if f.ret == "void" else "    get(r, result);\n"
    outs = "".join(f"    get(r, {p.name});\n" for p in f.params if p.inout)
    ret = "" if f.ret == "void" else "  return result;\n"
    return f"""{f.ret} {f.name}({params}) {{
  using namespace course::grading;
  Writer w;
  const std::uint32_t id = {fid};
  w.bytes(&id, 4);
{puts}  const std::string reply = Client::instance().call(w.buffer(), "{f.qualified}");
  Reader r(reply.data(), reply.size());
{ret_decl}  try {{
{ret_get}{outs}    r.finish();
  }} catch (const BadReply& e) {{
    Client::instance().malformed("{f.qualified}", e.what());
  }}
{ret}}}

"""


def _handler(fid: int, f: Function) -> str:
    decls = "".join(f"  std::remove_cvref_t<{p.type}> {p.name}{{}};\n  get(r, {p.name});\n"
                    for p in f.params)
    args = ", ".join(p.name for p in f.params)
    call = (f"  {f.qualified}({args});\n" if f.ret == "void" else
            f"  put(w, static_cast<const std::remove_cvref_t<{f.ret}>&>({f.qualified}({args})));\n")
    outs = "".join(f"  put(w, {p.name});\n" for p in f.params if p.inout)
    return f"""void call_{fid}(course::grading::Reader& r, course::grading::Writer& w) {{  // {f.qualified}
  using namespace course::grading;
{decls}  r.finish();
{call}{outs}}}

"""


def _by_namespace(functions, render) -> str:
    out, ns = [], None
    for i, f in enumerate(functions):
        if f.namespace != ns:
            if ns:
                out.append(f"}}  // namespace {ns}\n\n")
            ns = f.namespace
            out.append(f"namespace {ns} {{\n\n")
        out.append(render(i, f))
    if ns:
        out.append(f"}}  // namespace {ns}\n")
    return "".join(out)


def generate(headers: list[Header]) -> str:
    functions = [f for h in headers for f in h.functions]
    structs = [s for h in headers for s in h.structs]
    includes = "".join(f'#include "{h.include}"\n' for h in headers)
    codecs = "".join(_codec(s) for s in structs)
    proxies = _by_namespace(functions, _proxy)
    handlers = _by_namespace(functions, lambda i, f: _handler(i, f).replace(
        f"void call_{i}(", f"void grading_call_{i}("))
    cases = "".join(f"    case {i}: {f.namespace}::grading_call_{i}(r, w); return true;\n"
                    for i, f in enumerate(functions))
    return f"""// GENERATED by tools/grading/remote.py from exercises/include/course/exercises/*.hpp: do not edit.
// {len(functions)} exercise functions, {len(structs)} structs.
#include <cstdint>
#include <string>
#include <type_traits>

{includes}
#include "remote.hpp"

namespace course::grading {{

{codecs}}}  // namespace course::grading

#if defined(COURSE_GRADING_PROXIES)
// The trusted side: every exercise function, as a call into the worker.
{proxies}
#elif defined(COURSE_GRADING_WORKER)
// The worker's side: read the arguments, call the student's function, send the values back.
{handlers}
namespace {{
bool dispatch(std::uint32_t id, course::grading::Reader& r, course::grading::Writer& w) {{
  switch (id) {{
{cases}    default:
      return false;
  }}
}}
}}  // namespace

int main() {{ return course::grading::serve(dispatch); }}
#endif
"""
