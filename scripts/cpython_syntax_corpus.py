#!/usr/bin/env python3
"""Hostile inputs and CPython 3.11's first syntax error for each, as test data.

Writes src/syntax/tests/cpython_corpus.json, read by the unit test
`syntax::tests::cpython_corpus` (which then needs no python3). Run it with CPython 3.11
after adding cases:

    python3 scripts/cpython_syntax_corpus.py

Each case is {"name", "parts", "cpython"}: the source is the concatenation of every
[text, count] in "parts" (so 50,000 brackets cost a few bytes), compiled as UTF-8 bytes with
`compile(source, "<case>", "exec")`. "cpython" is null when it compiles, else
[message, lineno, offset] with `offset` CPython's 1-based column in code points (0 when it
gives none, as for NUL bytes).
"""

import json
import os
import sys
import warnings

if sys.version_info[:2] != (3, 11):
    sys.exit("the recorded answers are CPython 3.11's: run this with python 3.11")

warnings.simplefilter("ignore")  # invalid escape sequences and the like

CASES = []


def case(name, *parts):
    """A case whose source is the parts joined; a part is text or (text, count)."""
    norm = [[p, 1] if isinstance(p, str) else [p[0], p[1]] for p in parts]
    CASES.append((name, norm))


N = 50_000

# Brackets: how many are reported, which one, nesting limits.
for kind in "([{":
    case(f"unclosed_3_{kind}", "x = ", (kind, 3), "1\n")
    case(f"unclosed_3_{kind}_no_newline", "x = ", (kind, 3), "1")
    case(f"unclosed_{kind}_then_statement", "x = ", (kind, 2), "1\ny = 2\n")
    case(f"balanced_deep_{kind}", "x = ", (kind, N), "1", ({"(": ")", "[": "]", "{": "}"}[kind], N), "\n")
    case(f"unclosed_deep_{kind}", "x = ", (kind, N), "1\n")
    case(f"balanced_200_{kind}", "x = ", (kind, 200), "1", ({"(": ")", "[": "]", "{": "}"}[kind], 200), "\n")
    case(f"balanced_201_{kind}", "x = ", (kind, 201), "1", ({"(": ")", "[": "]", "{": "}"}[kind], 201), "\n")
case("unclosed_mixed_paren_bracket_brace", "x = ([{1\n")
case("unclosed_mixed_brace_bracket_paren", "x = {[(1\n")
case("unclosed_mixed_with_closed_inner", "x = ([(1)], {2\n")
case("unclosed_on_two_lines", "x = (\ny = [\n")
case("unclosed_on_two_lines_then_code", "x = (\ny = [\nz = 3\n")
case("unclosed_two_lines_values", "x = (1,\n(2,\n")
case("unclosed_inner_then_newline", "f(a, (b,\n  c\n")
case("unclosed_call_in_def", "def f():\n    return g(1,\n\ndef h():\n    pass\n")
case("balanced_deep_mixed", "x = ", ("([{", N // 3), "1", ("}])", N // 3), "\n")
case("balanced_deep_then_error", "x = ", ("(", 300), "1", (")", 300), "\nif x\n    pass\n")
case("deep_on_many_lines", "x = ", ("(\n", 250), "1", (")\n", 250))
case("unmatched_closer", "x = 1)\n")
case("unmatched_closers_many", "x = 1", (")", N), "\n")
case("mismatched_closer", "x = (1]\n")
case("mismatched_closer_other_line", "x = (1,\n2]\n")
case("mismatch_inside_unclosed", "x = [(1]\n")
case("closer_after_unclosed_line", "x = (\ny = 2)\n")

# Strings at the end of the file.
for q in ["'", '"']:
    name = "single" if q == "'" else "double"
    case(f"unterminated_{name}_eof", f"x = {q}abc")
    case(f"unterminated_{name}_newline", f"x = {q}abc\n")
    case(f"unterminated_{name}_backslash_eof", f"x = {q}abc\\")
    case(f"unterminated_{name}_backslash_newline", f"x = {q}abc\\\n")
    case(f"unterminated_triple_{name}_eof", f"x = {q * 3}abc")
    case(f"unterminated_triple_{name}_lines", f"x = 1\ny = {q * 3}abc\nz = 2\n")
    case(f"unterminated_fstring_{name}", f"x = f{q}a{{b}}")
    case(f"unterminated_triple_fstring_{name}", f"x = f{q * 3}a{{b}}\n")
    case(f"unterminated_bytes_{name}", f"x = rb{q}abc\n")
case("unterminated_after_error", "if x\n    y = 'abc\n")
case("unterminated_in_brackets", "x = ('abc\n")
case("unterminated_triple_in_brackets", "x = (\"\"\"abc\n")
case("string_quote_only", "'")
case("triple_quote_only", '"""')
case("string_then_triple_eof", "x = 'a' '''\n")
case("fstring_unclosed_brace", "x = f'{a'\n")
case("fstring_single_close", "x = f'a}'\n")
case("fstring_empty_expr", "x = f'{}'\n")
case("fstring_backslash", "x = f'{\"\\n\"}'\n")
case("fstring_hash", "x = f'{a#}'\n")
case("fstring_bad_conversion", "x = f'{a!x}'\n")
case("fstring_nested_too_deep", "x = f'{a:{b:{c}}}'\n")
case("fstring_invalid_expr", "x = f'{a b}'\n")
case("fstring_newline_single", "x = f'{a\n}'\n")

# Indentation: tabs, spaces, form feeds.
case("tab_then_spaces_same_block", "if x:\n\ty = 1\n        z = 2\n")
case("spaces_then_tab_same_block", "if x:\n        y = 1\n\tz = 2\n")
case("tab_inconsistent_dedent", "if x:\n    if y:\n\tpass\n")
case("tab_space_mix_in_one_indent", "if x:\n \tpass\n  \tpass\n")
case("unindent_mismatch", "if x:\n        a = 1\n    b = 2\n")
case("unexpected_indent_first_line", "  x = 1\n")
case("unexpected_indent_after_comment", "x = 1\n# c\n    y = 2\n")
case("expected_block_eof", "if x:\n")
case("expected_block_eof_no_newline", "if x:")
case("expected_block_comment_only", "def f():\n    # nothing\n")
case("expected_block_dedent", "def f():\nx = 1\n")
case("form_feed_indent_reset", "if x:\n    a = 1\n\x0c  b = 2\n")
case("form_feed_before_dedent", "if x:\n    a = 1\n\x0cb = 2\n")
case("form_feed_mid_line", "x = 1 \x0c+ 2\n")
case("form_feed_line_only", "if x:\n    a = 1\n\x0c\n    b = 2\n")
case("deep_indentation_99", *[(" " * i + "if x:\n") for i in range(99)], " " * 99 + "pass\n")
case("deep_indentation_100", *[(" " * i + "if x:\n") for i in range(100)], " " * 100 + "pass\n")
case("indent_tabs_only_mixed_width", "if x:\n\tif y:\n\t\tpass\n\t    pass\n")

# Bytes CPython refuses or treats specially.
case("nul_byte", "x = 1\x00\n")
case("nul_in_string", "x = 'a\x00b'\n")
case("nul_in_comment", "# \x00\nx = 1\n")
case("bom_then_code", "\ufeffx = 1\n")
case("bom_then_error", "\ufeffx = (\n")
case("bom_mid_file", "x = 1\n\ufeffy = 2\n")
case("bom_mid_line", "x = \ufeff1\n")
case("crlf_valid", "if x:\r\n    y = 1\r\n")
case("crlf_missing_colon", "if x\r\n    y = 1\r\n")
case("crlf_unclosed", "x = (\r\ny = 2\r\n")
case("crlf_unterminated_string", "x = 'abc\r\ny = 2\r\n")
case("lone_cr_valid", "if x:\r    y = 1\r")
case("lone_cr_missing_colon", "x = 1\rif x\r    y = 1\r")
case("lone_cr_unterminated", "x = 'abc\ry = 2\r")
case("lone_cr_indent", "x = 1\r    y = 2\r")
case("long_line_valid", "x = [", ("1, ", 100_000), "]\n")
case("long_line_error_at_end", "x = [", ("1, ", 100_000), "]]\n")
case("long_line_missing_comma", "x = [", ("1, ", 50_000), "1 2]\n")
case("long_string_unterminated", "x = '", ("a", 200_000), "\n")
case("replacement_char", "x = \ufffd\n")
case("replacement_char_in_name", "ab\ufffdc = 1\n")
case("replacement_char_in_string", "x = '\ufffd'\n")

# Identifiers and characters.
case("unicode_identifier", "café = 1\nσ = café\n")
case("cjk_identifier", "変数 = 1\n")
case("euro_in_name", "x€ = 1\n")
case("emoji_name", "x = 😀\n")
case("middle_dot_name", "a·b = 1\n")
case("nbsp", "x =\u00a01\n")
case("zero_width_space", "x = 1\u200b\n")
case("dollar", "x = $1\n")
case("question_mark", "x = a ? b : c\n")
case("backtick", "x = `a`\n")
case("lone_exclamation", "x = !a\n")
case("fullwidth_paren", "print（1）\n")
case("smart_quotes", "x = “a”\n")
case("en_dash", "x = 1 – 2\n")
case("invalid_decimal", "x = 1abc\n")
case("invalid_hex", "x = 0xg\n")
case("invalid_octal", "x = 0o8\n")
case("invalid_binary", "x = 0b2\n")
case("leading_zero", "x = 012\n")
case("number_then_keyword", "x = 1if y else 2\n")
case("underscore_end_number", "x = 1_\n")
case("double_underscore_number", "x = 1__0\n")
case("exponent_without_digits", "x = 1e\n")

# Backslash continuation.
case("backslash_eof", "x = 1 + \\")
case("backslash_newline_eof", "x = 1 + \\\n")
case("backslash_then_space", "x = 1 + \\ \n2\n")
case("backslash_mid_line", "x = 1 \\ + 2\n")
case("backslash_alone_eof", "\\")
case("backslash_in_comment_eof", "x = 1  # \\")
case("backslash_blank_line", "x = 1 + \\\n\n")

# Decorators.
case("decorator_eof", "@dec\n")
case("decorator_then_assignment", "@dec\nx = 1\n")
case("decorator_empty", "@\ndef f(): pass\n")
case("decorator_then_decorator_eof", "@a\n@b\n")
case("decorator_then_if", "@dec\nif x:\n    pass\n")
case("decorator_same_line_def", "@dec def f(): pass\n")
case("decorator_then_async_def", "@dec\nasync def f(): pass\n")

# Lambda and walrus misuse.
case("lambda_default_walrus", "f = lambda x := 1: x\n")
case("lambda_no_body", "f = lambda x:\n")
case("lambda_annotation", "f = lambda x: int: x\n")
case("lambda_star_only", "f = lambda *: 1\n")
case("walrus_statement", "x := 1\n")
case("walrus_attribute", "(a.b := 1)\n")
case("walrus_subscript", "(a[0] := 1)\n")
case("walrus_in_assignment_target", "(x := 1) = 2\n")
case("walrus_keyword_argument", "f(a := 1 = 2)\n")
case("walrus_default", "def f(x := 1): pass\n")
case("walrus_unparenthesized_value", "x = y := 1\n")
case("walrus_in_comprehension_iterable", "[x for x in (y := [1])]\n")
case("walrus_valid", "if (n := 10) > 5:\n    pass\nprint([y := 1, y ** 2])\n")
case("assign_to_literal", "1 = x\n")
case("assign_to_call", "f() = 1\n")
case("assign_to_keyword_none", "None = 1\n")
case("augassign_to_tuple", "a, b += 1\n")
case("del_literal", "del 1\n")

# match statements.
case("match_valid", "match x:\n    case [1, *rest] if rest:\n        pass\n    case {'k': v}:\n        pass\n    case _:\n        pass\n")
case("match_as_name_valid", "match = 1\ncase = 2\nmatch(x)\n")
case("match_no_case", "match x:\n    pass\n")
case("match_missing_colon", "match x\n    case 1:\n        pass\n")
case("case_missing_colon", "match x:\n    case 1\n        pass\n")
case("case_no_block", "match x:\n    case 1:\n    pass\n")
case("case_no_pattern", "match x:\n    case:\n        pass\n")
case("match_no_block", "match x:\nx = 1\n")
case("match_eof", "match x:\n")
case("case_expression_pattern", "match x:\n    case a + 1:\n        pass\n")
case("case_two_wildcards", "match x:\n    case _ | _:\n        pass\n")
case("case_guard_missing", "match x:\n    case 1 if:\n        pass\n")

# Statements in odd places, keywords, endings.
case("else_without_if", "else:\n    pass\n")
case("except_without_try", "except:\n    pass\n")
case("try_without_except", "try:\n    pass\nx = 1\n")
case("try_eof", "try:\n    pass\n")
case("elif_after_else", "if x:\n    pass\nelse:\n    pass\nelif y:\n    pass\n")
case("def_without_name", "def (): pass\n")
case("def_missing_parens", "def f: pass\n")
case("class_keyword_args_only", "class A(x=1, 2): pass\n")
case("return_outside_function", "return 1\n")
case("yield_outside_function", "yield 1\n")
case("await_outside_async", "def f():\n    await x\n")
case("break_outside_loop", "break\n")
case("nonlocal_module", "nonlocal x\n")
case("star_expression_alone", "*a\n")
case("double_star_in_list", "x = [**a]\n")
case("print_statement", "print 'hello'\n")
case("exec_statement", "exec 'x'\n")
case("keyword_as_name", "def class(): pass\n")
case("import_star_in_def", "def f():\n    from m import *\n")
case("positional_after_keyword", "f(a=1, 2)\n")
case("duplicate_argument", "def f(a, a): pass\n")
case("default_before_nondefault", "def f(a=1, b): pass\n")
case("empty_file", "")
case("only_comment_no_newline", "# c")
case("only_whitespace", "   \n\t\n")
case("only_continuation_lines", "\\\n\\\n")
case("semicolon_only", ";\n")
case("trailing_semicolons", "x = 1;;\n")
case("comparison_chain_assignment", "a < b = 1\n")
case("generator_unparenthesized", "f(x for x in y, 1)\n")
case("if_equals", "if x = 1:\n    pass\n")
case("missing_comma_in_call", "f(a b)\n")
case("missing_comma_in_dict", "d = {'a': 1 'b': 2}\n")
case("dangling_operator", "x = 1 +\n")
case("async_alone", "async x = 1\n")


def first_error(src: bytes):
    try:
        compile(src, "<case>", "exec", dont_inherit=True)
    except SyntaxError as e:
        return [e.msg, e.lineno or 0, e.offset or 0]
    except (ValueError, MemoryError, RecursionError) as e:
        return [f"{type(e).__name__}: {e}", 0, 0]
    return None


def main():
    out = []
    seen = set()
    for name, parts in CASES:
        assert name not in seen, name
        seen.add(name)
        src = "".join(text * count for text, count in parts)
        out.append({"name": name, "parts": parts, "cpython": first_error(src.encode("utf-8"))})
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    path = os.path.join(root, "src", "syntax", "tests", "cpython_corpus.json")
    with open(path, "w", encoding="utf-8") as f:
        f.write("[\n")
        f.write(",\n".join(json.dumps(c, ensure_ascii=True) for c in out))
        f.write("\n]\n")
    print(f"{len(out)} cases written to {path}")


main()
