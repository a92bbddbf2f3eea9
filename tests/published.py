"""Token ids published for GPT-2's tokenizer (openai-community/gpt2, OpenAI's vocab.json and merges.txt): from
transformers' tokenizer tests, minGPT's bpe.py and OpenAI's own encoder.py, as ../shared/REFERENCE.md lists them.
The tokenizer's tests and the BPE lesson's tests both check every one."""
TOKEN_IDS = [
    ("Hello world", [15496, 995]),
    ("hello world", [31373, 995]),
    (" Hello world", [18435, 995]),
    ("Hello, my dog is cute", [15496, 11, 616, 3290, 318, 13779]),
    ("hello 👋 world 🌍", [31373, 50169, 233, 995, 12520, 234, 235]),
    ("indivisible", [521, 452, 12843]),
    ("This is some text", [1212, 318, 617, 2420]),
    (" ", [220]),
    ("\t", [197]),
    ("0000000000000000", [25645]),
    ("000", [830]),
    ("café naïve", [66, 1878, 2634, 41492]),
    ("😀 emoji", [47249, 222, 44805]),
    ("Hello<|endoftext|>world", [15496, 50256, 6894]),
    ("The dog", [464, 3290]),
    ("Alan Turing theorized that computers would one day become",
     [36235, 39141, 18765, 1143, 326, 9061, 561, 530, 1110, 1716]),
    ("Hello!! I'm Andrej Karpathy. It's 2022. w00t :D 🤗",
     [15496, 3228, 314, 1101, 10948, 73, 509, 5117, 10036, 13, 632, 338, 33160, 13, 266, 405, 83, 1058, 35, 12520, 97, 245]),
]
