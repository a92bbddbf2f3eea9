"""Exercise 9's solution: the merge loop of byte-pair encoding."""


def merge(symbols, ranks):
    symbols = list(symbols)
    while len(symbols) > 1:
        rank, pair = min((ranks.get(pair, len(ranks)), pair) for pair in zip(symbols, symbols[1:]))
        if rank == len(ranks):  # no adjacent pair was ever merged
            break
        merged, i = [], 0
        while i < len(symbols):
            if symbols[i:i + 2] == list(pair):
                merged.append(symbols[i] + symbols[i + 1])
                i += 2
            else:
                merged.append(symbols[i])
                i += 1
        symbols = merged
    return symbols
