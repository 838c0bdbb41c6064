"""Which characters of a Chinese text are in the other script, told by OpenCC (pinned).

A character is flagged on a zh-Hans page when every Traditional-to-Simplified conversion
(OpenCC's t2s, hk2s and tw2s, phrase by phrase) changes it there, and on a zh-Hant page when
every Simplified-to-Traditional one (s2t, s2hk, s2tw) does. Asking all three leaves regional
variants alone (閱 and 閲 are both Traditional). A few phrases that OpenCC rewrites although
they are standard in Hong Kong Traditional are allowed.
"""

import re
from functools import cache

import opencc

TO_SIMPLIFIED = ("t2s", "hk2s", "tw2s")
TO_TRADITIONAL = ("s2t", "s2hk", "s2tw")
# Standard Traditional that OpenCC still rewrites (公布 to 公佈, 厘米 to 釐米).
TRADITIONAL_ALLOWED = ("公布", "厘米")
CJK = re.compile(r"[\u3400-\u9fff]")


@cache
def _converter(name):
    return opencc.OpenCC(f"{name}.json")


def wrong_script(text, language):
    """The characters of `text` that belong to the other script than `language`'s
    ("zh-hans" or "zh-hant"), each with a little context; empty when the text is clean."""
    language = language.lower()
    if not language.startswith("zh-"):
        return []
    if language.startswith("zh-hant"):
        names = TO_TRADITIONAL
        for phrase in TRADITIONAL_ALLOWED:
            text = text.replace(phrase, " " * len(phrase))
    else:
        names = TO_SIMPLIFIED
    if not CJK.search(text):
        return []
    outputs = [_converter(name).convert(text) for name in names]
    problems = []
    for index, char in enumerate(text):
        if not CJK.match(char):
            continue
        if all(len(out) == len(text) and out[index] != char for out in outputs):
            problems.append(f"{char} in “{text[max(0, index - 8) : index + 9].strip()}”")
    return problems
