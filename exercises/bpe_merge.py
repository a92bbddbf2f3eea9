"""Exercise 9, the merge loop of byte-pair encoding (the guided path's step 6): one piece of text -> its tokens.

Write merge(symbols, ranks): symbols, a list of strings (one piece of text, one byte-symbol each to start
with, such as ["Ġ", "a", "n", "i", "m", "a", "l"]); ranks, a dict {(left, right): rank} from merges.txt, rank 0
learnt first. Return the list of symbols after every merge, as GPT-2's tokenizer makes them:
- of the adjacent pairs of symbols that are in ranks, take the one with the lowest rank;
- join every occurrence of that pair, left to right (in "a a a" the first two join, then the third is alone);
- again, until no adjacent pair is in ranks, or one symbol is left.

Hint: read lessons/bpe.py (step 3 of its docstring). A pair not in ranks can be given the rank len(ranks),
larger than any real one; zip(symbols, symbols[1:]) gives the adjacent pairs.

Check it: python -m exercises check bpe_merge. Then GPT-2's own vocabulary and merges encode sentences with
your loop, and the ids are compared with the tokenizers package's.
"""


def merge(symbols, ranks):
    raise NotImplementedError("write merge(symbols, ranks); its module's docstring says what it computes")
