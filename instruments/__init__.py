"""The instruments: what GPT-2 computes, made visible, and experiments that test why it says what it says.

They use the core (model.py and below); the core never imports them. The tools read the network through
probe.py, one forward pass that keeps its inside, run once per prompt, so that what they show is what
produced the model's answer. The experiments change something in the open and run the core's own
functions on the result: ablate.py changes the weights, patch.py and path_patch.py put numbers from one
run into another and run the remaining blocks. Reading order: probe.py; the tools (token_view,
shape_trace, top_tokens, logit_lens, attention_map); the experiments (ablate, head_roles, attribute,
copying, patch, path_patch); explain.py, which wires them to the command line and the page; report.py
and page/, the page.

Words used the same way in every tool's output:
  block L     the L-th transformer block, 0-based; "head L.H" is head H of block L.
  layer i     the residual stream entering block i: layer 0 is the embeddings' output, layer i is
              the stream after block i - 1, layer n_layer the stream after the last block.

A new instrument, in six steps:
  1. instruments/NAME.py: a function (seen or ids, params, config, ...) -> plain lists and dicts, and a print_NAME.
  2. plumbing/arguments.py: its option, in add_learning_tools or add_experiments (and in API_OPTIONS, for the page).
  3. explain.py: one line in instruments() to compute it into extra["NAME"], one in print_instruments() to print it.
  4. page/page.js: a section in experiments() that draws J.NAME, with a sentence on how to read it.
  5. tests/: its numbers against an independent computation (a fixture script in the reference stack).
  6. README.md: its question in "Test the claim", with output the command really printed.
"""
