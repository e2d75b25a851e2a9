#!/usr/bin/env python3
"""Generates common/error_catalogue_data.inc, the error catalogue of pkiwatch.

Sources (none of them is needed by the build; the output is checked in):
  codes and names  mingw-w64 winerror.h (and ERROR_WINHTTP_* from winhttp.h)
  message texts    1. common/tools/error_texts.tsv: texts quoted verbatim in the
                      project's documents and fixtures (real Windows wording)
                   2. Wine's kernelbase winerror.mc message table (Wine's
                      wording; mostly Win32 codes)
                   A code found in neither gets an empty message: no text is
                   written from memory.

Define forms understood in the headers:
  _HRESULT_TYPEDEF_(0x...)   ((HRESULT)0x...)        an HRESULT
  __MSABI_LONG(n) / plain n  n <= 0xFFFF: a Win32 code, stored as
                             HRESULT_FROM_WIN32(n); larger values are HRESULTs
  (BASE + n)                 BASE a numeric define (WSABASEERR, WINHTTP_ERROR_BASE)
  HRESULT_FROM_WIN32(NAME)   resolved through NAME
  NAME                       an alias of another define
Non-numeric defines and range markers (*_FIRST, *_LAST, *_BASE, *_MASK,
FACILITY_*, SEVERITY_*) are skipped.

Canonical name when several names share one code (the others stay findable
by name as aliases). Compared in this order:
  1. a define that spells the number beats one that names another define
     (WSA_QOS_EUNKOWNPSOBJ -> WSA_QOS_EUNKNOWNPSOBJ is the alias);
  2. a define that is an HRESULT itself beats a Win32 code mapped into the
     HRESULT space (0x80070057 is E_INVALIDARG, not ERROR_INVALID_PARAMETER),
     because the product reports HRESULTs and Windows tools name them so;
  3. the prefix ranking in PREFERRED_PREFIXES (E_, S_, ERROR_, CRYPT_E_,
     CERT_E_, CERTSRV_E_, ... before anything else);
  4. the first definition in the header.
The message of a code is the supplement's text for that code, else the Wine
text of the canonical name, else the Wine text of any other name of the code.

Usage: gen_error_catalogue.py [--winerror H] [--winhttp H] [--wine-mc MC]
                              [--texts TSV] [--out INC]
"""

import argparse
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))

PREFERRED_PREFIXES = [
    "E_", "S_", "ERROR_", "CRYPT_E_", "CERT_E_", "CERTSRV_E_", "TRUST_E_",
    "NTE_", "RPC_S_", "RPC_E_", "CO_E_", "SEC_E_", "SCARD_E_", "TPM_E_",
]

SKIP_NAME = re.compile(
    r"^(__|FACILITY_|SEVERITY_)|_(FIRST|LAST|BASE|MASK)$|^HRESULT_FROM_|^WINERROR")

DEFINE = re.compile(r"^\s*#\s*define\s+([A-Za-z_][A-Za-z0-9_]*)\s+(.+?)\s*(?:/[/*].*)?$")
NUM = r"(0[xX][0-9A-Fa-f]+|[0-9]+)[uUlL]*"


def win32_to_hresult(n):
    if n == 0 or n & 0x80000000:
        return n
    return (n & 0xFFFF) | (7 << 16) | 0x80000000


def classify_number(n, is_hresult):
    """Returns (code, native_hresult)."""
    n &= 0xFFFFFFFF
    if is_hresult:
        return n, True
    if n <= 0xFFFF:
        return win32_to_hresult(n), False
    return n, True


class Define:
    def __init__(self, name, code, native, by_reference, order, source):
        self.name = name
        self.code = code
        self.native = native
        self.by_reference = by_reference
        self.order = order
        self.source = source


def parse_header(path, defines, numeric, order_start, only_prefix=None):
    """Parses `path` into `defines` (name -> Define). `numeric` holds every
    plain numeric define seen (bases like WSABASEERR)."""
    pending = []  # (name, value, order) resolved after the file is read
    order = order_start
    with open(path, encoding="latin-1") as f:
        for line in f:
            m = DEFINE.match(line)
            if not m:
                continue
            name, value = m.group(1), m.group(2).strip()
            order += 1
            mv = re.fullmatch(NUM, value)
            if mv:
                numeric.setdefault(name, int(mv.group(1), 0))
            if SKIP_NAME.search(name):
                continue
            if only_prefix and not name.startswith(only_prefix):
                continue
            pending.append((name, value, order))

    # Aliases may name a define that comes later: resolve until no progress.
    while pending:
        unresolved = []
        for name, value, order in pending:
            result = evaluate(value, defines, numeric)
            if result is None:
                unresolved.append((name, value, order))
                continue
            add_define(defines, name, result, order, path)
        if len(unresolved) == len(pending):
            break  # the rest is not a numeric error code (macro, type...)
        pending = unresolved
    return order


def add_define(defines, name, result, order, path):
    code, native, by_reference = result
    if name in defines:
        if defines[name].code != code:
            print(f"warning: {name} redefined with another value; "
                  f"keeping 0x{defines[name].code:08X}", file=sys.stderr)
        return
    defines[name] = Define(name, code, native, by_reference, order,
                           os.path.basename(path))


def evaluate(value, defines, numeric):
    """Returns (code, native_hresult, by_reference) or None."""
    m = re.fullmatch(r"_HRESULT_TYPEDEF_\(\s*" + NUM + r"\s*\)", value)
    if m:
        return classify_number(int(m.group(1), 0), True) + (False,)
    m = re.fullmatch(r"\(\s*\(\s*HRESULT\s*\)\s*" + NUM + r"\s*\)", value)
    if m:
        return classify_number(int(m.group(1), 0), True) + (False,)
    m = re.fullmatch(r"__MSABI_LONG\(\s*" + NUM + r"\s*\)", value)
    if m:
        return classify_number(int(m.group(1), 0), False) + (False,)
    m = re.fullmatch(NUM, value)
    if m:
        return classify_number(int(m.group(1), 0), False) + (False,)
    m = re.fullmatch(r"\(\s*([A-Za-z_][A-Za-z0-9_]*)\s*\+\s*" + NUM + r"\s*\)",
                     value)
    if m and m.group(1) in numeric:
        return classify_number(numeric[m.group(1)] + int(m.group(2), 0),
                               False) + (False,)
    m = re.fullmatch(r"HRESULT_FROM_WIN32\(\s*([A-Za-z_][A-Za-z0-9_]*)\s*\)",
                     value)
    if m and m.group(1) in defines:
        return defines[m.group(1)].code, False, True
    m = re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", value)
    if m and value in defines:
        target = defines[value]
        return target.code, target.native, True
    return None


def parse_wine_mc(path):
    """Returns name -> (text, win32_message_id or None)."""
    texts = {}
    fields = {}
    in_text = False
    lines = []
    with open(path, encoding="utf-8") as f:
        for raw in f:
            line = raw.rstrip("\r\n")
            if in_text:
                if line == ".":
                    name = fields.get("SymbolicName")
                    if name:
                        text = " ".join(l.strip() for l in lines).strip()
                        win32 = None
                        if "Severity" not in fields and "Facility" not in fields:
                            try:
                                win32 = int(fields.get("MessageId", ""), 0)
                            except ValueError:
                                win32 = None
                        texts.setdefault(name, (text, win32))
                    fields, lines, in_text = {}, [], False
                else:
                    lines.append(line)
                continue
            if line.startswith(";"):
                continue
            m = re.match(r"^\s*(\w+)\s*=\s*(.*?)\s*$", line)
            if not m:
                continue
            key, value = m.group(1), m.group(2)
            if key == "Language":
                in_text = True
            else:
                fields[key] = value
    return texts


def parse_texts_tsv(path):
    texts = {}
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            line = line.rstrip("\r\n")
            if not line.strip() or line.startswith("#"):
                continue
            parts = line.split("\t")
            if len(parts) < 2:
                sys.exit(f"{path}:{lineno}: expected code<TAB>text")
            code = int(parts[0], 16) & 0xFFFFFFFF
            texts[code] = parts[1].strip()
    return texts


def prefix_rank(name):
    for i, p in enumerate(PREFERRED_PREFIXES):
        if name.startswith(p):
            return i
    return len(PREFERRED_PREFIXES)


def canonical_key(d):
    return (d.by_reference, not d.native, prefix_rank(d.name), d.order)


def c_string(s):
    out = ['"']
    for b in s.encode("utf-8"):
        c = chr(b)
        if c in '"\\':
            out.append("\\" + c)
        elif 0x20 <= b < 0x7F and c != "?":  # '?' avoids trigraph warnings
            out.append(c)
        else:
            out.append("\\%03o" % b)
    out.append('"')
    return "".join(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--winerror", default="/usr/x86_64-w64-mingw32/include/winerror.h")
    ap.add_argument("--winhttp", default="/usr/x86_64-w64-mingw32/include/winhttp.h")
    ap.add_argument("--wine-mc", default="/tmp/winesrc/wine-8.0/dlls/kernelbase/winerror.mc")
    ap.add_argument("--texts", default=os.path.join(HERE, "error_texts.tsv"))
    ap.add_argument("--out", default=os.path.join(HERE, "..", "error_catalogue_data.inc"))
    args = ap.parse_args()

    defines = {}
    numeric = {}
    order = parse_header(args.winerror, defines, numeric, 0)
    if args.winhttp and os.path.exists(args.winhttp):
        parse_header(args.winhttp, defines, numeric, order,
                     only_prefix="ERROR_WINHTTP_")

    wine = parse_wine_mc(args.wine_mc)
    supplement = parse_texts_tsv(args.texts)

    by_code = {}
    for d in defines.values():
        by_code.setdefault(d.code, []).append(d)

    entries = []
    mismatches = 0
    for code, names in by_code.items():
        names.sort(key=canonical_key)
        text = supplement.get(code)
        if text is None:
            for d in names:
                if d.name in wine:
                    wtext, win32 = wine[d.name]
                    if win32 is not None and win32_to_hresult(win32) != code:
                        mismatches += 1
                        print(f"warning: Wine text for {d.name} is for "
                              f"{win32}, header says 0x{code:08X}; skipped",
                              file=sys.stderr)
                        continue
                    text = wtext
                    break
        entries.append((code, names[0].name, text or ""))
    entries.sort()

    unknown = set(supplement) - set(by_code)
    for code in sorted(unknown):
        print(f"warning: error_texts.tsv code 0x{code:08X} is not in the headers",
              file=sys.stderr)

    aliases = sorted((d.name, d.code) for d in defines.values())

    with open(args.out, "w", encoding="ascii", newline="\n") as out:
        out.write("// GENERATED by common/tools/gen_error_catalogue.py - do not edit.\n")
        out.write("//\n")
        out.write("// Codes and names: mingw-w64 " + os.path.basename(args.winerror) +
                  " (and ERROR_WINHTTP_* from winhttp.h), Debian package mingw-w64-common.\n")
        out.write("// Texts: common/tools/error_texts.tsv (Windows wording quoted in the project's\n")
        out.write("// fixtures and documents), then Wine 8.0 dlls/kernelbase/winerror.mc (Wine's\n")
        out.write("// wording, LGPL-2.1 message table). Codes with no known text have \"\".\n")
        out.write("// Win32 codes are stored as HRESULT_FROM_WIN32. One canonical name per code\n")
        out.write("// (rule in the generator); kErrorNames also lists the aliases.\n")
        out.write(f"// {len(entries)} codes, {len(aliases)} names, "
                  f"{sum(1 for e in entries if e[2])} texts.\n\n")
        out.write("inline constexpr ErrorEntry kErrorCatalogue[] = {\n")
        for code, name, text in entries:
            out.write(f"    {{0x{code:08X}u, {c_string(name)}, {c_string(text)}}},\n")
        out.write("};\n\n")
        out.write("inline constexpr ErrorName kErrorNames[] = {\n")
        for name, code in aliases:
            out.write(f"    {{{c_string(name)}, 0x{code:08X}u}},\n")
        out.write("};\n")

    print(f"wrote {args.out}: {len(entries)} codes, {len(aliases)} names, "
          f"{sum(1 for e in entries if e[2])} with text, {mismatches} Wine mismatches",
          file=sys.stderr)


if __name__ == "__main__":
    main()
