"""Each bug kind is seeded correctly: the mutant parses and differs only at the seeded spot."""

import ast
import io
import tokenize

import pytest

from codeassist.defects.findings import BUG_KINDS
from codeassist.defects.mutate import list_mutations, sample_mutations

SOURCE = """
async def fetch(client, url):
    return await client.get(url)


def window(items, start, size):
    total = 0
    for i in range(size):
        if items[i] > start and i < len(items):
            total = total + items[i] * 2
    result = items[start:size]
    while not result:
        result = divmod(start, size)
    return max(total, start)


class Box:
    def area(self):
        return self.width * self.height
"""


def _tokens(text):
    return [
        (t.type, t.string)
        for t in tokenize.generate_tokens(io.StringIO(text).readline)
        if t.type not in (tokenize.NL, tokenize.COMMENT)
    ]


@pytest.mark.parametrize("kind", BUG_KINDS)
def test_each_kind_is_generated_and_differs_only_at_the_spot(kind):
    mutations = sample_mutations(SOURCE, 5, seed=0, kinds=(kind,))
    assert mutations, f"no {kind} mutation found"
    original_tree = ast.dump(ast.parse(SOURCE))
    for m in mutations:
        assert m.kind == kind
        mutant = m.apply(SOURCE)
        assert ast.dump(ast.parse(mutant)) != original_tree
        # Text outside the span is untouched, and the recorded original is what was there.
        assert mutant[: m.start] == SOURCE[: m.start]
        assert mutant[m.start + len(m.mutated) :] == SOURCE[m.end :]
        assert SOURCE[m.start : m.end] == m.original
        # Token streams agree before and after the seeded spot.
        a, b = _tokens(SOURCE), _tokens(mutant)
        prefix = 0
        while prefix < min(len(a), len(b)) and a[prefix] == b[prefix]:
            prefix += 1
        suffix = 0
        while suffix < min(len(a), len(b)) - prefix and a[-1 - suffix] == b[-1 - suffix]:
            suffix += 1
        changed = "".join(s for _, s in b[prefix : len(b) - suffix])
        assert changed.replace(" ", "") in m.mutated.replace(" ", "") or m.mutated == ""
        assert m.invert(mutant) == SOURCE


def test_specific_mutations_are_the_expected_ones():
    found = list_mutations(SOURCE)
    texts = {(m.original, m.mutated) for ms in found.values() for m in ms}
    assert ("start, size", "size, start") in texts  # divmod args swapped
    assert ("and", "or") in texts
    assert ("<", "<=") in texts
    assert ("size", "size + 1") in texts  # range bound
    assert ("not result", "result") in texts
    assert ("return await client.get(url)", "await client.get(url)") in texts
    assert ("width", "height") in texts


def test_sampling_is_reproducible():
    a = sample_mutations(SOURCE, 8, seed=3)
    b = sample_mutations(SOURCE, 8, seed=3)
    assert a == b
    assert len({m.start for m in a}) == len(a)
