"""The continuation as text, piece by piece as its ids arrive: what the terminal and the live page show."""
import itertools


def stream(new_ids, tok, on_text, prompt):
    """Hand on the prompt, then the continuation as the ids arrive, and return them. The prompt waits for the
    first forward pass, so that a model that cannot run shows nothing. A token may end in the middle of a
    UTF-8 character (an emoji is often two or three tokens); decoding it alone would show the
    replacement character "\ufffd", so such text is held back until the character is complete."""
    new_ids = iter(new_ids)
    first = next(new_ids, None)
    on_text(prompt)
    generated, shown = [], ""
    for next_id in itertools.chain([] if first is None else [first], new_ids):
        generated.append(next_id)
        text = tok.decode(generated)
        if not text.endswith("\ufffd"):
            on_text(text[len(shown):])
            shown = text
    on_text(tok.decode(generated)[len(shown):])  # whatever was held back at the end
    return generated

